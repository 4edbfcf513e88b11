"""An alert storm on one grouped rule (docs/grouping.md): N alerts posted to ingest as
fast as it takes them, all matching one rule whose webhook endpoint gets digests
(group_wait 1 s, group_interval 2 s), through ingest, evaluator, aggregator and sender.
Figures: alerts/s accepted by ingest, digests/s received by the sink (first post to
last digest), and members per digest. A grouped endpoint's throughput is bounded by its
timers, not the sender: the figure to watch is that N alerts stay a few messages."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx

from alerting import config
from alerting.bench import e2e, loading, poster
from alerting.bench.cases import case
from alerting.bench.environment import BenchEnv
from alerting.bench.plan import Plan
from alerting.bench.probes import observe
from alerting.bench.processes import BenchError, Processes
from alerting.bench.ruleset import RuleSetSpec, rules
from alerting.bench.sinks import Sinks
from alerting.bench.stats import Throughput
from alerting.dev.infra import Progress
from alerting.domain.grouping import GroupingPolicy
from alerting.sealed import Keyring

HOOK = "bench-storm"
POLICY = GroupingPolicy(group_by=(), group_wait_s=1, group_interval_s=2)
WARM_ALERTS = 5
SET_POLICY = "UPDATE rules SET grouping = $1::jsonb WHERE rule_id = ANY($2::uuid[])"
SENT = "SELECT count(*) FROM notifications WHERE alert_id LIKE $1 AND status = 'SENT'"
NOT_SENT = """SELECT status, count(*) AS n FROM notifications
WHERE alert_id LIKE $1 AND status <> 'SENT' GROUP BY 1 ORDER BY 2 DESC"""


def figures(posted: poster.Posted, digests: list[dict[str, Any]]) -> dict[str, Any]:
    """The case from what the sink received (pure): ``digests`` are its recorded requests."""
    accepted = posted.accepted
    members = sum(d["members"] for d in digests)
    if not digests or members != accepted:
        raise BenchError(f"storm: {members:,} members in {len(digests)} digests, not {accepted:,}")
    out = Throughput(len(digests), max(d["received_at"] for d in digests) - posted.started_at)
    return {
        **case(f"{accepted:,} alerts, one grouped rule", "digests", out),
        "figure": f"{posted.offered_per_s:,.0f} alerts/s in, {out.per_s:,.2f} digests/s out,"
        f" {members / len(digests):,.0f} members per digest",
        "alerts_per_s": round(posted.offered_per_s, 1),
        "messages_per_s": round(out.per_s, 3),
        "messages": len(digests),
        "members_per_message": round(members / len(digests), 1),
        "policy": POLICY.to_json(),
    }


async def _post_and_drain(
    url: str, token: str, spec: RuleSetSpec, sinks: Sinks, procs: Processes, n: int, name: str
) -> poster.Posted:
    """``n`` alerts posted unpaced, then waited for until all are members at the sink."""
    await sinks.clear()
    posted = await poster.post(url, token, spec, f"storm-{name}-", 120.0, None, min(500, n), n)
    async with httpx.AsyncClient(timeout=10) as http:

        async def members() -> int:
            counts = (await http.get(f"{sinks.url}/counts")).json()
            found: int = counts["members"].get(HOOK, 0)
            return found

        await observe(members, posted.accepted, 300, f"storm {name}", procs, poll_s=0.2)
    return posted


async def _all_sent(pool: asyncpg.Pool[Any], n: int, procs: Processes) -> None:
    """The sink has a digest before the sender records its outcome: wait for the rows."""

    async def sent() -> int:
        count: int = await pool.fetchval(SENT, "storm-run-%")
        return count

    try:
        await observe(sent, n, 30, "storm: notifications SENT", procs, poll_s=0.5)
    except BenchError:
        left = await pool.fetch(NOT_SENT, "storm-run-%")
        seen = ", ".join(f"{r['n']:,} {r['status']}" for r in left)
        raise BenchError(f"storm: notifications not SENT after their digests: {seen}") from None


async def measure(bench: BenchEnv, plan: Plan, sinks: Sinks, progress: Progress) -> list[Any]:
    env = {**bench.scope("storm"), **sinks.env()}
    settings = config.load(env)
    spec = RuleSetSpec(clients=1, rules_per_client=1, wildcard_share=0)
    # A seed no other stage uses: rule ids come from it, and the stages share a database.
    rule_set = rules(spec, seed=7, clients_prefix="storm-c")
    await loading.create_topics(settings)
    pool = await asyncpg.create_pool(settings.postgres_dsn, min_size=1, max_size=2)
    procs = Processes(bench.run_id, "storm")
    try:
        keyring = Keyring.from_settings(settings)
        await loading.insert_rules(pool, rule_set, "webhook", sinks.hook(HOOK), keyring)
        await pool.execute(SET_POLICY, json.dumps(POLICY.to_json()), [r.rule_id for r in rule_set])
        await loading.write_snapshot(settings, rule_set)
        progress(f"storm: one grouped rule; starting {', '.join(e2e.SERVICES)}")
        for name in e2e.SERVICES:
            await procs.start(name, env)
        await procs.wait_ready()
        url, token = procs.urls["ingest"], settings.require_admin_token()
        # Every consumer group joins (slow on Tansu) before anything is timed. The warm
        # alerts open the group: the storm joins an open group, as a real one would.
        await _post_and_drain(url, token, spec, sinks, procs, WARM_ALERTS, "warm")
        progress(f"storm: posting {plan.storm_alerts:,} alerts as fast as ingest takes them")
        posted = await _post_and_drain(url, token, spec, sinks, procs, plan.storm_alerts, "run")
        await _all_sent(pool, posted.accepted, procs)
        found = figures(posted, await sinks.received(HOOK))
    finally:
        await procs.stop()
        await loading.delete_keys(settings)
        await pool.close()
    progress(f"storm: {found['figure']}")
    return [found]
