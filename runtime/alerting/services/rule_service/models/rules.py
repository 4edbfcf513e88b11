"""Rules, and the /match explanation."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

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


class RuleCreate(RequestModel):
    client_id: ClientId
    severity: RuleSeverity
    source: MatchText = Field(description="exact source, or * for any")
    name: MatchText = Field(description="exact alert name, or * for any")
    enabled: bool = True


class RuleUpdate(RequestModel):
    """A partial update; ``version`` must be the version last read (optimistic locking)."""

    version: Version
    severity: RuleSeverity | None = None
    source: MatchText | None = None
    name: MatchText | None = None
    enabled: bool | None = None


class Rule(ResponseModel):
    rule_id: UUID
    client_id: str
    severity: RuleSeverity
    source: str
    name: str
    enabled: bool
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
