"""Field types and base classes every resource model shares."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

MAX_BIGINT = 2**63 - 1
CLIENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def storable(value: str) -> str:
    """Postgres text holds neither NUL nor lone surrogates; refuse them up front (422)
    instead of failing in the driver (500)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


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


class RequestModel(BaseModel):
    """A request body: unknown fields are an error, so a typo is never silently ignored."""

    model_config = ConfigDict(extra="forbid")


class QueryModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PageQuery(QueryModel):
    limit: int = Field(50, ge=1, le=500, description="page size (default 50, at most 500)")
    cursor: Cursor | None = Field(None, description="next_cursor of the previous page")


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """application/problem+json (RFC 9457)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
    current_version: int | None = Field(
        None, description="on a stale PATCH (409): the rule's current version"
    )
