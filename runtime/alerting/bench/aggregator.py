"""The aggregator alone: AlertMatched messages waiting, timed until its group has
committed them all (after the INSERT and the NotificationReady produce of each batch),
then checked against the notifications table."""

from __future__ import annotations

import time
from typing import Any

import asyncpg

from alerting import codec, config
from alerting.adapters.kafka import OutMessage
from alerting.bench import loading
from alerting.bench.cases import case
from alerting.bench.environment import BenchEnv
from alerting.bench.plan import Plan
from alerting.bench.probes import Committed, time_until
from alerting.bench.processes import BenchError, Processes
from alerting.bench.ruleset import alerts, rules
from alerting.dev.infra import Progress
from alerting.domain.matching import RuleIndex


async def measure(bench: BenchEnv, plan: Plan, progress: Progress) -> list[dict[str, Any]]:
    env = bench.scope("agg")
    settings = config.load(env)
    n = plan.aggregator_matches
    spec = plan.spec(plan.e2e_rules, 1)
    rule_set = rules(spec)
    index = RuleIndex(rule_set)
    prefix = f"agg-{bench.run_id}-"
    batch = alerts(spec, n, prefix, int(time.time()))
    matches = [m for alert in batch for m in index.matches_for(alert)]
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
    progress(f"aggregator: {n:,} matches waiting; starting the aggregator")
    procs = Processes(bench.run_id, "agg")
    try:
        async with Committed(settings.kafka, topic, procs.group("aggregator")) as probe:
            await procs.start("aggregator", env)
            took = await time_until(probe, n, 300, "aggregator", procs)
    finally:
        await procs.stop()
    conn = await asyncpg.connect(settings.postgres_dsn)
    try:
        stored = await conn.fetchval(
            "SELECT count(*) FROM notifications WHERE alert_id LIKE $1", prefix + "%"
        )
        # Left PENDING, they would be claimed by the next stages' senders once their
        # grace expired, and fail there for want of endpoints, skewing those figures.
        await conn.execute("DELETE FROM notifications WHERE alert_id LIKE $1", prefix + "%")
        await conn.execute(
            "DELETE FROM clients WHERE client_id = ANY($1::text[])",
            sorted({r.client_id for r in rule_set}),
        )
    finally:
        await conn.close()
    if stored != n:
        raise BenchError(f"aggregator: {stored:,} notifications stored for {n:,} matches")
    result = case(f"{n:,} matches, 1 per notification", "notifications", took)
    progress(f"aggregator: {result['figure']}")
    return [result]
