"""Base classes and field checks every HTTP API's pydantic models share."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


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


class RequestModel(BaseModel):
    """A request body: unknown fields are an error, so a typo is never silently ignored."""

    model_config = ConfigDict(extra="forbid")


class QueryModel(BaseModel):
    """Query parameters: unknown ones are ignored (a shared link may carry parameters
    meant for someone else), unlike a body's fields."""

    model_config = ConfigDict(extra="ignore")


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class FieldError(BaseModel):
    field: str
    message: str


class ProblemDetails(BaseModel):
    """What ``problems.render`` writes (RFC 9457), for an API document to describe.

    An API whose problems carry extra members subclasses it (see rule-service's
    ``Problem``); the members here are the ones every problem has.
    """

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
