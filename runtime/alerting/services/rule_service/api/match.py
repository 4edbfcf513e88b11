"""POST /match: which rules of the caller's scope would match a sample alert, and why;
and which of its silences would mute it now."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from alerting.domain.patterns import explain
from alerting.domain.silences import AlertFields, SilenceIndex
from alerting.services.rule_service.api import rules as rules_api
from alerting.services.rule_service.models.rules import (
    MatchRequest,
    MatchResponse,
    MatchWhy,
    RuleMatch,
)
from alerting.services.rule_service.models.silences import SilenceMatch
from alerting.services.rule_service.operation import Ctx, Operation
from alerting.services.rule_service.repo import rules as repo
from alerting.services.rule_service.repo import silences as silences_repo

log = logging.getLogger(__name__)

MAX_MATCHES = 500
# Silences read per request: every one a client may have (the default quota) and more;
# an admin asking without a client_id may reach it (logged: the answer is then partial).
MAX_SILENCES = 10_000


async def match_rules(ctx: Ctx) -> MatchResponse:
    body = ctx.body(MatchRequest)
    owner = ctx.principal.owner
    if owner is not None and body.client_id not in (None, owner):
        return MatchResponse(items=[], truncated=False, silences=[])
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
    silences = await muting(ctx, body, owner or body.client_id)
    return MatchResponse(items=items, truncated=len(rows) > MAX_MATCHES, silences=silences)


async def muting(ctx: Ctx, body: MatchRequest, client_id: str | None) -> list[SilenceMatch]:
    """The scope's silences that mute the sample now, decided as the evaluator decides
    (``SilenceIndex``), per client."""
    now = datetime.now(UTC)
    clients = None if client_id is None else [client_id]
    rows = await silences_repo.active(ctx.pool, clients, now, MAX_SILENCES)
    if len(rows) >= MAX_SILENCES:
        log.warning(
            "match: %d or more active silences in scope (client %s): only the first %d"
            " are checked", MAX_SILENCES, client_id or "(all)", MAX_SILENCES,
        )  # fmt: skip
    readable = (silences_repo.readable(r) for r in rows)
    index = SilenceIndex(s for s in readable if s is not None)
    alert = AlertFields(body.severity, body.source, body.name, lambda: body.context)
    by_id = {str(r["silence_id"]): r for r in rows}
    found: list[SilenceMatch] = []
    for client in dict.fromkeys(r["client_id"] for r in rows):
        for silence_id in index.muting(client, alert, now):
            found.append(SilenceMatch.model_validate(dict(by_id[silence_id])))
    return found


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
