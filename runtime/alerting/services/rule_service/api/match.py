"""POST /match: which rules of the caller's scope would match a sample alert, and why."""

from __future__ import annotations

from alerting.domain.patterns import explain
from alerting.services.rule_service.models.rules import (
    MatchRequest,
    MatchResponse,
    MatchWhy,
    Rule,
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
    items: list[RuleMatch] = []
    for row in rows[:MAX_MATCHES]:
        why = explain((row["severity"], row["source"], row["name"]), alert)
        if why is None:  # SQL and the explanation disagree: trust neither, show nothing
            continue
        items.append(RuleMatch(rule=Rule.model_validate(dict(row)), why=MatchWhy(**why)))
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
