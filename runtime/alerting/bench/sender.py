"""The sender alone: PENDING notifications and their NotificationReady messages in
place, timed until all are SENT to the webhook sink, then the same for emails to the
SMTP sink. The endpoint rate limit is lifted for the run (environment.CHILD_DEFAULTS)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx

from alerting import codec, config
from alerting.adapters.kafka import OutMessage
from alerting.bench import loading
from alerting.bench.cases import case
from alerting.bench.environment import BenchEnv
from alerting.bench.plan import Plan
from alerting.bench.probes import time_until
from alerting.bench.processes import BenchError, Processes
from alerting.bench.ruleset import RuleSetSpec, rules
from alerting.bench.sinks import Sinks
from alerting.config import Settings
from alerting.dev.infra import Progress
from alerting.domain.model import Alert, AlertMatch, NotificationReady, Severity
from alerting.sealed import Keyring

HOOK = "bench-sender"
# By client first (an index), not by alert id alone: that would read every stored
# notification, ten million of them in the `stored` stage.
OURS = "FROM notifications WHERE client_id = ANY($2::text[]) AND alert_id LIKE $1"
SENT = f"SELECT count(*) {OURS} AND status = 'SENT'"
OUTCOMES = f"SELECT status, last_error, count(*) AS n {OURS} GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 4"


@dataclass(frozen=True)
class Batch:
    """One timed run: ``n`` notifications to ``clients`` clients, each client's one rule
    with one endpoint of channel ``kind`` at ``value``."""

    kind: str
    value: str
    n: int
    clients: int
    seed: int
    tag: str = ""  # apart from another run of the same case in this bench (see measure)


async def _prepare(
    settings: Settings, pool: asyncpg.Pool[Any], batch: Batch
) -> tuple[str, list[str]]:
    """The batch's notifications, announced on the ready topic; the alert id prefix
    and the clients that find them."""
    kind, clients = batch.kind, batch.clients
    prefix = f"{batch.tag}snd-{kind}-"
    spec = RuleSetSpec(clients=clients, rules_per_client=1, wildcard_share=0)
    rule_set = rules(spec, seed=batch.seed, clients_prefix=f"{batch.tag}{kind}-c")
    await loading.insert_rules(pool, rule_set, kind, batch.value, Keyring.from_settings(settings))
    now = int(time.time())
    matches = [
        AlertMatch(
            Alert(f"{prefix}{i}", Severity.HIGH, "bench", "sender", now), r.client_id, (r.rule_id,)
        )
        for i in range(batch.n)
        for r in (rule_set[i % clients],)
    ]
    pending = await loading.insert_notifications(pool, matches)
    topic = settings.topics.notifications_ready
    ready = [NotificationReady(p.notification_id, p.client_id, p.alert_id) for p in pending]
    await loading.produce(
        settings,
        [
            OutMessage(topic, r.client_id.encode(), codec.encode_notification_ready(r))
            for r in ready
        ],
    )
    return prefix, sorted({r.client_id for r in rule_set})


async def _measure_one(
    bench: BenchEnv, sinks: Sinks, pool: asyncpg.Pool[Any], batch: Batch, progress: Progress
) -> dict[str, Any]:
    kind, n = batch.kind, batch.n
    # Each channel has its own topics: its sender's group must see only its own messages.
    env = {**bench.scope(f"{batch.tag}snd-{kind}"), **sinks.env()}
    settings = config.load(env)
    await loading.create_topics(settings)
    prefix, clients = await _prepare(settings, pool, batch)
    progress(f"sender: {n:,} {kind} notifications waiting; starting a sender")
    procs = Processes(bench.run_id, f"{batch.tag}snd-{kind}")
    # Timed on what reaches the sink: the sender commits a ready batch once it is
    # claimed, before its deliveries finish, and a count(*) of SENT rows polled often
    # enough to time the run would load Postgres more than the sender's own statements.
    hook = HOOK if kind == "webhook" else None
    await sinks.clear()
    try:
        async with httpx.AsyncClient(timeout=10) as http:

            async def arrived() -> int:
                return await sinks.arrived(http, hook)

            await procs.start("sender", env)
            took = await time_until(arrived, n, 300, f"sender {kind}s", procs)
    finally:
        await procs.stop()
    sent: int = await pool.fetchval(SENT, prefix + "%", clients)
    if sent != n:
        rows = await pool.fetch(OUTCOMES, prefix + "%", clients)
        seen = "; ".join(f"{r['n']:,} {r['status']} ({r['last_error']})" for r in rows)
        raise BenchError(f"sender {kind}s: {sent:,} of {n:,} notifications SENT: {seen}")
    return case(f"{n:,} {kind}s", f"{kind}s", took, channel=kind)


async def measure(
    bench: BenchEnv, plan: Plan, sinks: Sinks, progress: Progress, tag: str = "", seed: int = 11
) -> list[dict[str, Any]]:
    """The webhook case, then the email one. A second run in the same bench (the
    ``stored`` stage's) passes its own ``tag`` (names) and ``seed`` (rule ids)."""
    pool = await asyncpg.create_pool(bench.settings.postgres_dsn, min_size=1, max_size=2)
    out = []
    try:
        clients = plan.sender_clients
        batches = (
            Batch("webhook", sinks.hook(HOOK), plan.sender_webhooks, clients, seed, tag),
            Batch("email", "bench@example.com", plan.sender_emails, clients, seed + 1, tag),
        )
        for batch in batches:
            out.append(await _measure_one(bench, sinks, pool, batch, progress))
            progress(f"sender, {batch.kind}s: {out[-1]['figure']}")
    finally:
        await pool.close()
    return out
