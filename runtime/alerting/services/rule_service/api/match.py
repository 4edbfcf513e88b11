"""POST /match: which rules of the caller's scope would match a sample alert, and why."""

from __future__ import annotations

from alerting.domain.patterns import explain
from alerting.services.rule_service.api import rules as rules_api
from alerting.services.rule_service.models.rules import (
    MatchRequest,
    MatchResponse,
    MatchWhy,
    RuleMatch,
)
from alerting.services.rule_service.operation import Ctx, Operation
from alerting.services.rule_service.repo import rules as repo

MAX_MATCHES = 500


async def match_rules(ctx: Ctx) -> MatchResponse:
    body = ctx.body(MatchRequest)
    owner = ctx.principal.owner
    if owner is not None and body.client_id not in (None, owner):
        return MatchResponse(items=[], truncated=False)
    rows = await repo.matching(
        ctx.pool,
        client_id=owner or body.client_id,
        severity=body.severity,
        source=body.source,
        name=body.name,
        limit=MAX_MATCHES + 1,
    )
    alert = (body.severity, body.source, body.name)
    explained = []
    for row in rows[:MAX_MATCHES]:
        why = explain((row["severity"], row["source"], row["name"]), alert)
        if why is not None:  # else SQL and the explanation disagree: trust neither
            explained.append((row, why))
    shown = await rules_api.shown(ctx, [row for row, _ in explained])
    items = [
        RuleMatch(rule=rule, why=MatchWhy(**why))
        for rule, (_, why) in zip(shown, explained, strict=True)
    ]
    return MatchResponse(items=items, truncated=len(rows) > MAX_MATCHES)


OPERATIONS = (
    Operation(
        "POST",
        "/api/v1/match",
        match_rules,
        "Enabled rules that match a sample alert, with how each field matched",
        "rules",
        response=MatchResponse,
        body=MatchRequest,
    ),
)
