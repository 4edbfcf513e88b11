"""Base classes and field checks every HTTP API's pydantic models share."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

from alerting.domain.text import LABEL, STORABLE, VALUE, CharacterPolicy


def checked_by(policy: CharacterPolicy) -> Callable[[str], str]:
    """A string field validator refusing what ``policy`` refuses, with the policy's
    message as the field's 422.

    Every text field of every API goes through one of these, so what a character is
    refused for is decided once (``alerting.domain.text``)."""

    def check(value: str) -> str:
        violation = policy.violation(value)
        if violation is not None:
            raise PydanticCustomError("text", violation)
        return value

    return check


# Postgres text holds neither NUL nor lone surrogates; refuse them up front (422)
# instead of failing in the driver (500).
storable = checked_by(STORABLE)
# What a notification shows as a label (an alert's source and name, a context key): one
# line, no controls or bidi overrides, and something visible.
label = checked_by(LABEL)
# A context value: one line too, but a tab is allowed (see ``alerting.domain.text``).
value_text = checked_by(VALUE)


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
