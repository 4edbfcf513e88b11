"""Side by side: the same alerts through Alertmanager 0.25 and through the platform.

Alertmanager runs without grouping (``group_by: ['...']``, ``group_wait: 0s``), so each
alert is one webhook, as each is one notification in the platform (one rule matches
them all, with one webhook endpoint). Both deliver to the same local sink; each side
runs alone (Alertmanager is stopped before the platform's services start), gets a small
warm-up first, and is timed from its first post to its last delivery.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from alerting import config
from alerting.bench import loading, v2_alerts
from alerting.bench.environment import BenchEnv
from alerting.bench.plan import Plan
from alerting.bench.probes import observe
from alerting.bench.processes import BenchError, Processes
from alerting.bench.sinks import Sinks
from alerting.bench.stats import Throughput
from alerting.dev import infra
from alerting.domain.model import WILDCARD, MatchingRule
from alerting.peers import configs, packages, servers
from alerting.sealed import Keyring

AM_HOOK, PLATFORM_HOOK = "bench-am", "bench-am-platform"
SERVICES = ("ingest", "evaluator", "aggregator", "sender")
WARM_ALERTS = 20
IN_FLIGHT = 8
DELIVERY_TIMEOUT_S = 300


@dataclass
class Delivered:
    took: Throughput
    items: list[dict[str, Any]]
    posted: Throughput  # how fast the receiver took the posts (answered them)


async def post_all(
    url: str, headers: dict[str, str], prefix: str, count: int
) -> tuple[float, float]:
    """``count`` alerts to ``url`` in Prometheus-sized batches, ``IN_FLIGHT`` requests at
    a time; the wall-clock time of the first post and the seconds posting took."""
    slots = asyncio.Semaphore(IN_FLIGHT)
    began, started_at = time.monotonic(), time.time()
    async with httpx.AsyncClient(headers=headers, timeout=60) as http:

        async def send(first: int) -> None:
            async with slots:
                size = min(v2_alerts.BATCH, count - first)
                alerts = v2_alerts.batch(prefix, first, size, time.time())
                response = await http.post(url, json=alerts)
            if response.status_code >= 300:
                raise BenchError(f"{url} answered {response.status_code}: {response.text[:300]}")

        await asyncio.gather(*(send(i) for i in range(0, count, v2_alerts.BATCH)))
    return started_at, time.monotonic() - began


async def deliver(
    sinks: Sinks,
    hook: str,
    post: Callable[[str, int], Awaitable[tuple[float, float]]],
    prefix: str,
    count: int,
    alive: Callable[[], None],
) -> Delivered:
    """Post ``count`` alerts, wait for as many webhooks at ``hook``; timed first post to
    last delivery (the sink's receive times)."""
    await sinks.clear()
    started_at, posting_s = await post(prefix, count)
    async with httpx.AsyncClient(timeout=30) as http:

        async def arrived() -> int:
            alive()
            return await sinks.arrived(http, hook)

        await observe(arrived, count, DELIVERY_TIMEOUT_S, f"{hook}: {count:,} webhooks", poll_s=0.5)
    items = await sinks.received(hook)
    last = max(item["received_at"] for item in items)
    return Delivered(Throughput(len(items), last - started_at), items, Throughput(count, posting_s))


async def through_alertmanager(sinks: Sinks, count: int, progress: infra.Progress) -> Delivered:
    with tempfile.TemporaryDirectory(prefix="alerting-bench-am-") as directory:
        # Firing webhooks only: a resolved one, were any alert to expire, would be counted.
        config_ = configs.alertmanager(
            sinks.hook(AM_HOOK), None, group_interval="5s", send_resolved=False
        )
        port = infra.free_port()
        peer = await asyncio.to_thread(servers.start_alertmanager, Path(directory), port, config_)
        try:
            url = f"{peer.url}/api/v2/alerts"

            async def post(prefix: str, n: int) -> tuple[float, float]:
                return await post_all(url, {}, prefix, n)

            def alive() -> None:
                if peer.process.poll() is not None:
                    raise BenchError(f"Alertmanager exited\n{peer.log_tail()}")

            await deliver(sinks, AM_HOOK, post, "am_warm_", WARM_ALERTS, alive)
            progress(f"side by side: {count:,} alerts to Alertmanager ({peer.address})")
            return await deliver(sinks, AM_HOOK, post, "am_", count, alive)
        finally:
            await asyncio.to_thread(peer.stop)


async def through_platform(
    bench: BenchEnv, sinks: Sinks, count: int, progress: infra.Progress
) -> Delivered:
    env = {**bench.scope("alertmanager"), **sinks.env()}
    settings = config.load(env)
    rule = MatchingRule(str(uuid.uuid4()), "bench-am-c", WILDCARD, v2_alerts.SOURCE, WILDCARD)
    await loading.create_topics(settings)
    pool = await asyncpg.create_pool(settings.postgres_dsn, min_size=1, max_size=2)
    procs = Processes(bench.run_id, "alertmanager")
    try:
        keyring = Keyring.from_settings(settings)
        await loading.insert_rules(pool, [rule], "webhook", sinks.hook(PLATFORM_HOOK), keyring)
        await loading.write_snapshot(settings, [rule])
        for name in SERVICES:
            await procs.start(name, env)
        await procs.wait_ready()
        url = f"{procs.urls['ingest']}/api/v2/alerts"
        headers = {"Authorization": f"Bearer {settings.require_admin_token()}"}

        async def post(prefix: str, n: int) -> tuple[float, float]:
            return await post_all(url, headers, prefix, n)

        # Every consumer group joins (slow on Tansu) before anything is timed.
        await deliver(sinks, PLATFORM_HOOK, post, "pf_warm_", WARM_ALERTS, procs.check_alive)
        progress(f"side by side: the same {count:,} alerts to the platform's /api/v2/alerts")
        return await deliver(sinks, PLATFORM_HOOK, post, "pf_", count, procs.check_alive)
    finally:
        await procs.stop()
        await loading.delete_keys(settings)
        await pool.close()


async def measure(
    bench: BenchEnv, plan: Plan, sinks: Sinks, progress: infra.Progress
) -> list[dict[str, Any]]:
    """The stage's cases, or one that says why it did not run (no packages, not root)."""
    try:
        packages.ensure(progress)
    except infra.InfraError as exc:
        progress(f"side by side: not run: {exc}")
        return v2_alerts.not_run(str(exc))
    count = plan.alertmanager_alerts
    am = await through_alertmanager(sinks, count, progress)
    am_ms = v2_alerts.alertmanager_latencies_ms(am.items)
    progress(f"side by side, Alertmanager: {am.took.per_s:,.0f} alerts/s delivered")
    platform = await through_platform(bench, sinks, count, progress)
    platform_ms = v2_alerts.platform_latencies_ms(platform.items)
    progress(f"side by side, platform: {platform.took.per_s:,.0f} alerts/s delivered")
    version = packages.version(packages.ALERTMANAGER)
    return v2_alerts.compared(
        count,
        (am.took, am_ms, am.posted),
        (platform.took, platform_ms, platform.posted),
        version,
    )
