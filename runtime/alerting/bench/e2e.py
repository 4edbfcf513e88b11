"""End to end: ingest, evaluator, aggregator and sender together, alerts posted over
HTTP and received by the webhook sink. Latency is the sink's received_at minus the
post time the alert carries; throughput is deliveries over first post to last delivery.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import asyncpg

from alerting import config
from alerting.bench import loading, poster
from alerting.bench.cases import case
from alerting.bench.environment import BenchEnv
from alerting.bench.plan import Plan
from alerting.bench.probes import observe
from alerting.bench.processes import BenchError, Processes
from alerting.bench.ruleset import RuleSetSpec, rules
from alerting.bench.sinks import Sinks
from alerting.bench.stats import Throughput, summarize
from alerting.dev.infra import Progress
from alerting.sealed import Keyring

HOOK = "bench-e2e"
DRAIN_POLL_S = 0.5
SERVICES = ("ingest", "evaluator", "aggregator", "sender")
FINISHED = """SELECT count(*) FROM notifications
WHERE status IN ('SENT', 'FAILED') AND alert_id LIKE $1"""
FAILURES = """SELECT last_error, count(*) AS n FROM notifications
WHERE status = 'FAILED' AND alert_id LIKE $1 GROUP BY 1 ORDER BY 2 DESC LIMIT 3"""


def latencies_ms(items: Sequence[dict[str, Any]]) -> list[float]:
    """received_at minus the post time in each delivered body (one per notification)."""
    out = []
    for item in items:
        sent_at = item["body"]["context"][poster.SENT_AT]
        out.append((item["received_at"] - float(sent_at)) * 1000)
    return out


class Run:
    def __init__(self, bench: BenchEnv, sinks: Sinks, spec: RuleSetSpec, procs: Processes):
        self.bench = bench
        self.sinks = sinks
        self.spec = spec
        self.procs = procs
        self.settings = config.load(bench.scope("e2e"))

    async def phase(
        self,
        name: str,
        seconds: float,
        rate: float | None,
        pool: asyncpg.Pool[Any],
        limit: int | None = None,
    ) -> tuple[poster.Posted, list[dict[str, Any]], dict[str, int]]:
        """Post, wait until every accepted alert is SENT or FAILED; what the sink
        received, and the failures by reason (the sender gives up under overload)."""
        await self.sinks.clear()
        prefix = f"e2e-{name}-"
        batch = 500 if rate is None else max(1, min(500, int(rate / 20)))
        if limit is not None:
            batch = min(batch, limit)
        posted = await poster.post(
            self.procs.urls["ingest"],
            self.settings.require_admin_token(),
            self.spec,
            prefix,
            seconds,
            rate,
            batch,
            limit,
        )

        async def finished() -> int:
            count: int = await pool.fetchval(FINISHED, prefix + "%")
            return count

        # Only a wait: the figures come from the sink's receive times, so a slow poll
        # (the count is a scan) keeps the bench's own load off the measured cores.
        what = f"e2e {name} delivery"
        await observe(finished, posted.accepted, 300, what, self.procs, poll_s=DRAIN_POLL_S)
        failed = {r["last_error"]: r["n"] for r in await pool.fetch(FAILURES, prefix + "%")}
        items = await self.sinks.received(HOOK)
        if not items:
            raise BenchError(f"e2e {name}: no webhook arrived for {posted.accepted:,} alerts")
        return posted, items, failed


async def measure(bench: BenchEnv, plan: Plan, sinks: Sinks, progress: Progress) -> dict[str, Any]:
    env = {**bench.scope("e2e"), **sinks.env()}
    settings = config.load(env)
    spec = plan.spec(plan.e2e_rules, 1)
    rule_set = rules(spec, seed=3, clients_prefix="e2e-c")
    await loading.create_topics(settings)
    pool = await asyncpg.create_pool(settings.postgres_dsn, min_size=1, max_size=2)
    procs = Processes(bench.run_id, "e2e")
    try:
        await loading.insert_rules(
            pool, rule_set, "webhook", sinks.hook(HOOK), Keyring.from_settings(settings)
        )
        await loading.write_snapshot(settings, rule_set)
        progress(f"end to end: {spec.total:,} rules loaded; starting {', '.join(SERVICES)}")
        for name in SERVICES:
            await procs.start(name, env)
        await procs.wait_ready()
        run = Run(bench, sinks, spec, procs)
        # Every consumer group joins (slow on Tansu) before anything is timed.
        await run.phase("warm", 1.0, 20.0, pool)
        progress(f"end to end: offering {plan.e2e_rate:,.0f} alerts/s for {plan.e2e_latency_s:g}s")
        posted, items, _ = await run.phase("lat", plan.e2e_latency_s, plan.e2e_rate, pool)
        latency = summarize(latencies_ms(items))
        progress(
            f"end to end at {posted.offered_per_s:,.0f} alerts/s: p50 {latency.p50_ms:,.0f} ms,"
            f" p95 {latency.p95_ms:,.0f} ms, p99 {latency.p99_ms:,.0f} ms"
        )
        progress(f"end to end: posting as fast as ingest takes it for {plan.e2e_max_s:g}s")
        fast, items, failed = await run.phase(
            "max", plan.e2e_max_s, None, pool, plan.e2e_max_alerts
        )
        took = Throughput(len(items), max(i["received_at"] for i in items) - fast.started_at)
        progress(
            f"end to end, max: {took.per_s:,.0f} alerts/s delivered"
            f" ({fast.offered_per_s:,.0f}/s accepted by ingest, {sum(failed.values()):,} FAILED)"
        )
    finally:
        await procs.stop()
        await loading.delete_keys(settings)
        await pool.close()
    return {
        "latency": {
            **case(
                f"{posted.offered_per_s:,.0f} alerts/s offered",
                "alerts",
                Throughput(posted.accepted, posted.seconds),
            ),
            "figure": f"p50 {latency.p50_ms:,.0f} / p95 {latency.p95_ms:,.0f}"
            f" / p99 {latency.p99_ms:,.0f} ms",
            "offered_rate": plan.e2e_rate,
            "achieved_offered_rate": round(posted.offered_per_s, 1),
            "latency_ms": dataclasses.asdict(latency),
        },
        "max": case(
            f"max offered ({fast.offered_per_s:,.0f}/s accepted)",
            "alerts",
            took,
            notifications_per_s=took.per_s,
            accepted_per_s=round(fast.offered_per_s, 1),
            failed=failed,
        ),
    }
