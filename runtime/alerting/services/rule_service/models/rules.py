"""Rules, and the /match explanation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, WithJsonSchema

from alerting.domain import grouping as policy
from alerting.domain.patterns import FieldMatch
from alerting.services.rule_service.models.common import (
    LIVE_DESCRIPTION,
    MAX_CONTEXT_ENTRIES,
    AlertSeverity,
    ClientId,
    ContextKey,
    ContextValue,
    MatchText,
    PageQuery,
    RuleSeverity,
    Version,
)
from alerting.services.rule_service.models.silences import SilenceMatch
from alerting.web.models import RequestModel, ResponseModel

GROUPING_DESCRIPTION = (
    "the rule's grouping policy: its endpoints get digests instead of one message per"
    " notification (docs/grouping.md); null: none"
)


def _seconds(low: int, high: int, default: int, what: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high, "default": default,
            "description": what}  # fmt: skip


def grouping_schema(*, answer: bool) -> dict[str, Any]:
    """The JSON Schema of a grouping policy (docs/grouping.md). The API checks a body's
    policy with ``GroupingPolicy.parse`` rather than pydantic, so a 422 names the field
    as the domain does (``grouping.group_by[1]``); this schema only documents it. An
    answer always has all four fields (the defaults filled in)."""
    group_by = {
        "type": "array",
        "items": {"type": "string"},
        "maxItems": policy.MAX_GROUP_BY,
        "uniqueItems": True,
        "default": [],
        "description": "severity, source, name or context.<key>; [] groups all of the"
        " rule's alerts together",
    }
    wait = _seconds(0, policy.MAX_WAIT_S, policy.DEFAULT_WAIT_S,
                    "a new group waits this long before its first digest")  # fmt: skip
    interval = _seconds(1, policy.MAX_INTERVAL_S, policy.DEFAULT_INTERVAL_S,
                        "the least time between two digests of new members")  # fmt: skip
    repeat = _seconds(1, policy.MAX_REPEAT_S, policy.DEFAULT_REPEAT_S,
                      "a group still firing is re-announced this often (at least"
                      " group_interval_s)")  # fmt: skip
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "group_by": group_by,
            "group_wait_s": wait,
            "group_interval_s": interval,
            "repeat_interval_s": repeat,
        },
    }
    if answer:
        schema["required"] = list(policy.KEYS)
    return {"anyOf": [schema, {"type": "null"}], "description": GROUPING_DESCRIPTION}


# A body's policy as sent: checked by the handler (``GroupingPolicy.parse``).
GroupingBody = Annotated[dict[str, Any] | None, WithJsonSchema(grouping_schema(answer=False))]
GroupingAnswer = Annotated[dict[str, Any] | None, WithJsonSchema(grouping_schema(answer=True))]


class RuleCreate(RequestModel):
    client_id: ClientId
    severity: RuleSeverity
    source: MatchText = Field(description="exact source, or * for any")
    name: MatchText = Field(description="exact alert name, or * for any")
    enabled: bool = True
    grouping: GroupingBody = None


class RuleUpdate(RequestModel):
    """A partial update; ``version`` must be the version last read (optimistic locking)."""

    version: Version
    severity: RuleSeverity | None = None
    source: MatchText | None = None
    name: MatchText | None = None
    enabled: bool | None = None
    grouping: GroupingBody = Field(None, description=GROUPING_DESCRIPTION + " (removes it)")


class Rule(ResponseModel):
    rule_id: UUID
    client_id: str
    severity: RuleSeverity
    source: str
    name: str
    enabled: bool
    grouping: GroupingAnswer
    version: int
    created_at: datetime
    updated_at: datetime
    live: bool = Field(description=LIVE_DESCRIPTION)


class RulePage(ResponseModel):
    items: list[Rule]
    next_cursor: str | None


class RuleQuery(PageQuery):
    client_id: ClientId | None = None
    enabled: bool | None = None


class MatchRequest(RequestModel):
    severity: AlertSeverity
    source: MatchText
    name: MatchText
    client_id: ClientId | None = Field(None, description="admins: only this client's rules")
    context: dict[ContextKey, ContextValue] = Field(
        default_factory=dict,
        max_length=MAX_CONTEXT_ENTRIES,
        description="the alert's context, for silences with context.<key> matchers",
    )


class MatchWhy(ResponseModel):
    severity: FieldMatch
    source: FieldMatch
    name: FieldMatch


class RuleMatch(ResponseModel):
    rule: Rule
    why: MatchWhy


class MatchResponse(ResponseModel):
    items: list[RuleMatch]
    truncated: bool = Field(description="more rules matched than the response holds")
    silences: list[SilenceMatch] = Field(
        description="silences and windows of the caller's scope that would mute it now"
    )
