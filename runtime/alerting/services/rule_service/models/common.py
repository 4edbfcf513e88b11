"""Field types every rule-service resource model shares; the base classes are the web
layer's (``alerting.web.models``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from alerting.web.models import ProblemDetails, QueryModel, storable

MAX_BIGINT = 2**63 - 1
CLIENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


MatchText = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(storable)
]
Description = Annotated[str, StringConstraints(max_length=200), AfterValidator(storable)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(storable)]
ClientId = Annotated[str, StringConstraints(pattern=CLIENT_ID_PATTERN)]
Version = Annotated[int, Field(ge=1, le=MAX_BIGINT)]
RuleSeverity = Literal["LOW", "MEDIUM", "HIGH", "CRITICAL", "*"]
AlertSeverity = Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]
Cursor = Annotated[str, StringConstraints(min_length=1, max_length=512)]


class PageQuery(QueryModel):
    limit: int = Field(50, ge=1, le=500, description="page size (default 50, at most 500)")
    cursor: Cursor | None = Field(None, description="next_cursor of the previous page")


# The docstring is the schema's description in the OpenAPI document.
class Problem(ProblemDetails):
    """application/problem+json (RFC 9457)."""

    current_version: int | None = Field(
        None, description="on a stale PATCH (409): the rule's current version"
    )
