"""Which errors of the Postgres sender store mean "the database is away, try again":
the worker retries an outcome write only on those (tests/unit/test_sender_worker.py),
so a bug or a broken constraint must come through as itself."""

from __future__ import annotations

from typing import Any, cast

import asyncpg
import pytest

from alerting.services.sender.repo import Pool, PostgresSenderStore
from alerting.services.sender.store import Finish, StoreUnavailable
from tests.unit.test_sender_worker import LEASE


class FailingPool:
    """A pool whose every connection attempt raises ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def acquire(self) -> Any:
        return self

    async def __aenter__(self) -> Any:
        raise self.error

    async def __aexit__(self, *exc: object) -> None:
        return None


def record_one(error: BaseException) -> Any:
    store = PostgresSenderStore(cast(Pool, FailingPool(error)))
    finish = Finish("6f1c0d1e-8a8e-4a43-9d5c-2b1d4c9e0a11", LEASE, "SENT", 0, None, False)
    return store.record_outcomes("me", [], [finish])


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.InterfaceError("connection is closed"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.DeadlockDetectedError("deadlock detected"),
        asyncpg.SerializationError("could not serialize access due to concurrent update"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_a_lost_connection_or_a_conflict_rollback_is_retryable(error: BaseException) -> None:
    with pytest.raises(StoreUnavailable, match=type(error).__name__) as raised:
        await record_one(error)
    assert raised.value.__cause__ is error


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.UndefinedColumnError("column does not exist"),
        ValueError("a bug"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_any_other_error_comes_through_as_itself(error: BaseException) -> None:
    with pytest.raises(type(error)):
        await record_one(error)
