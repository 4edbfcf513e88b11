"""The aggregator alone: AlertMatched messages waiting, timed until its group has
committed them all (after the INSERT and the NotificationReady produce of each batch),
then checked against the notifications table.

Run twice when the plan has silences: without, then with the plan's silences naming
the matches they mute (``silence_ids``, as the evaluator would: those notifications
are stored SUPPRESSED and not announced)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import asyncpg

from alerting import codec, config
from alerting.adapters.kafka import OutMessage
from alerting.bench import loading
from alerting.bench.cases import case, silences_label
from alerting.bench.environment import BenchEnv
from alerting.bench.plan import Plan
from alerting.bench.probes import Committed, time_until
from alerting.bench.processes import BenchError, Processes
from alerting.bench.ruleset import alerts, rules
from alerting.bench.silenceset import muting, silences
from alerting.dev.infra import Progress
from alerting.domain.matching import RuleIndex
from alerting.domain.model import AlertMatch
from alerting.domain.silences import SilenceIndex

OURS = "{} FROM notifications WHERE client_id = ANY($1::text[]) AND alert_id LIKE $2"


def _muted(matches: list[AlertMatch], silenced: SilenceIndex, now: datetime) -> list[AlertMatch]:
    return [
        dataclasses.replace(m, silence_ids=muting(silenced, m.client_id, m.alert, now))
        for m in matches
    ]


async def measure_one(
    bench: BenchEnv, plan: Plan, progress: Progress, silenced: int = 0, tag: str = ""
) -> dict[str, Any]:
    """One case; ``tag`` keeps its topics, groups and rows apart from another run of the
    same case in this bench (the ``stored`` stage runs it before and after its load)."""
    name = f"{tag}agg" + (f"s{silenced}" if silenced else "")
    env = bench.scope(name)
    settings = config.load(env)
    n = plan.aggregator_matches
    spec = plan.spec(plan.e2e_rules, 1)
    rule_set = rules(spec)
    index = RuleIndex(rule_set)
    prefix = f"{name}-{bench.run_id}-"
    now = datetime.now(UTC)
    batch = alerts(spec, n, prefix, int(now.timestamp()))
    matches = [m for alert in batch for m in index.matches_for(alert)]
    if silenced:
        matches = _muted(matches, SilenceIndex(silences(spec, silenced, now)), now)
    share = sum(bool(m.silence_ids) for m in matches) / len(matches)
    label = silences_label(f"{n:,} matches, 1 per notification", silenced, share)
    topic = settings.topics.alerts_matched
    await loading.create_topics(settings)
    # The aggregator stores only matches of rules that exist (services/aggregator/store.py).
    pool = await asyncpg.create_pool(settings.postgres_dsn, min_size=1, max_size=2)
    try:
        await loading.insert_matching_rules(pool, rule_set)
    finally:
        await pool.close()
    await loading.produce(
        settings,
        [OutMessage(topic, m.client_id.encode(), codec.encode_match(m)) for m in matches],
    )
    progress(f"aggregator, {label}: {n:,} matches waiting; starting the aggregator")
    procs = Processes(bench.run_id, name)
    try:
        async with Committed(settings.kafka, topic, procs.group("aggregator")) as probe:
            await procs.start("aggregator", env)
            took = await time_until(probe, n, 300, "aggregator", procs)
    finally:
        await procs.stop()
    conn = await asyncpg.connect(settings.postgres_dsn)
    # By client first (an index), not by alert id alone: that would read every stored
    # notification, ten million of them in the `stored` stage.
    clients = sorted({r.client_id for r in rule_set})
    try:
        stored = await conn.fetchval(OURS.format("SELECT count(*)"), clients, prefix + "%")
        # Left PENDING, they would be claimed by the next stages' senders once their
        # grace expired, and fail there for want of endpoints, skewing those figures.
        await conn.execute(OURS.format("DELETE"), clients, prefix + "%")
        await conn.execute("DELETE FROM clients WHERE client_id = ANY($1::text[])", clients)
    finally:
        await conn.close()
    if stored != n:
        raise BenchError(f"aggregator: {stored:,} notifications stored for {n:,} matches")
    result = case(label, "notifications", took, silences=silenced, muted_share=round(share, 4))
    progress(f"aggregator, {label}: {result['figure']}")
    return result


async def measure(bench: BenchEnv, plan: Plan, progress: Progress) -> list[dict[str, Any]]:
    return [
        await measure_one(bench, plan, progress, silenced)
        for silenced in dict.fromkeys((0, plan.silences))
    ]
