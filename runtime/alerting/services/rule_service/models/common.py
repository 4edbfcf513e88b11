"""Field types every rule-service resource model shares; the base classes are the web
layer's (``alerting.web.models``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from alerting.web.models import ProblemDetails, QueryModel, label, value_text

MAX_BIGINT = 2**63 - 1
CLIENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


# Text fields follow ingest's policy (``alerting.domain.text``): a rule's source and
# name are compared with an alert's, and what ingest refuses could never match; a
# client's name and a key's description reach operators' screens and logs, where a line
# feed or a bidi override forges what they read.
MatchText = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(label)]
# Free text, one line: a tab is allowed, as in an alert's context values.
Description = Annotated[str, StringConstraints(max_length=200), AfterValidator(value_text)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(label)]
ClientId = Annotated[str, StringConstraints(pattern=CLIENT_ID_PATTERN)]
Version = Annotated[int, Field(ge=1, le=MAX_BIGINT)]
RuleSeverity = Literal["LOW", "MEDIUM", "HIGH", "CRITICAL", "*"]
AlertSeverity = Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]
# An alert's context, as ingest takes it.
ContextKey = Annotated[str, StringConstraints(min_length=1, max_length=128), AfterValidator(label)]
ContextValue = Annotated[str, StringConstraints(max_length=1024), AfterValidator(value_text)]
MAX_CONTEXT_ENTRIES = 32
Cursor = Annotated[str, StringConstraints(min_length=1, max_length=512)]


MAX_WAIT_S = 30
WaitSeconds = Annotated[float, Field(gt=0, le=MAX_WAIT_S, allow_inf_nan=False)]
LIVE_DESCRIPTION = (
    "every running evaluator matches with this version of it (false also when no"
    " evaluator is running)"
)


class WaitQuery(QueryModel):
    """`?wait=` of a change to something the evaluators hold (rules, silences)."""

    wait: WaitSeconds | None = Field(
        None,
        description=f"seconds (0 < wait <= {MAX_WAIT_S}) to wait for the change to be live"
        " before answering; the change is saved either way, `live` says which happened",
    )


class PageQuery(QueryModel):
    limit: int = Field(50, ge=1, le=500, description="page size (default 50, at most 500)")
    cursor: Cursor | None = Field(None, description="next_cursor of the previous page")


# The docstring is the schema's description in the OpenAPI document.
class Problem(ProblemDetails):
    """application/problem+json (RFC 9457)."""

    current_version: int | None = Field(
        None, description="on a stale PATCH (409): the rule's current version"
    )
    quota: str | None = Field(
        None, description="on a quota reached (409): which one, e.g. rules_per_client"
    )
    limit: int | None = Field(None, description="on a quota reached (409): the most allowed")
    count: int | None = Field(None, description="on a quota reached (409): how many exist")
