"""Postgres errors a request can cause or run into, as the problems they mean.

For APIs whose handlers talk to Postgres: a constraint the request broke is the
caller's 409/422, a database that cannot be reached is a 503 worth retrying; anything
else stays an unexpected error (500, logged).
"""

from __future__ import annotations

import asyncpg

from alerting.web.problems import ApiError, conflict, unavailable


def database_problem(exc: Exception) -> ApiError | None:
    """The problem ``exc`` means for the caller; None when it is not one of ours to name."""
    if isinstance(exc, asyncpg.UniqueViolationError):
        return conflict("a resource with these values already exists")
    if isinstance(exc, asyncpg.CheckViolationError | asyncpg.DataError):
        return ApiError(422, "the values break a constraint", kind="validation-error")
    if isinstance(exc, OSError | asyncpg.PostgresConnectionError | asyncpg.InterfaceError):
        return unavailable("database unavailable")
    if isinstance(exc, asyncpg.TooManyConnectionsError | TimeoutError):
        return unavailable("database busy")
    return None
