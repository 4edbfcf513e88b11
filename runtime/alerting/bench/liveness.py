"""Rule to live: how long `POST /api/v1/rules?wait=` takes to answer `live: true`.

Real rule-service (with its outbox relay), rule-updater and evaluator processes over a
pre-loaded rule set. Each start is a cold one (new processes, new consumer groups, as
after `make dev`), and the first rules are created the moment rule-service answers
ready: that is where a slow consumer group join or a relay that sleeps shows (the
rule-updater and the evaluator may still be starting; the figure includes that). After the
last start, rules are created one after another for the steady figure. A rule that is
not live when its wait ends is counted at the wait's bound, so it cannot flatter p99.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import asyncpg
import httpx

from alerting import config
from alerting.bench import loading
from alerting.bench.cases import case
from alerting.bench.environment import BenchEnv
from alerting.bench.plan import Plan
from alerting.bench.processes import BenchError, Processes
from alerting.bench.ruleset import rules
from alerting.bench.stats import Latency, Throughput, summarize
from alerting.dev.infra import Progress
from alerting.sealed import Keyring

SERVICES = ("rule-service", "rule-updater", "evaluator")
WAIT_S = 10
CLIENT = "bench-live"
UNUSED_HOOK = "http://127.0.0.1:9/never-called"


async def _create(api: httpx.AsyncClient, n: int, tag: str) -> float:
    """One rule with ?wait=; its rule-to-live time in ms (the bound when never live)."""
    body = {"client_id": CLIENT, "severity": "HIGH", "source": f"live-{tag}", "name": f"r{n}"}
    started = time.perf_counter()
    response = await api.post(f"/api/v1/rules?wait={WAIT_S}", json=body)
    took = (time.perf_counter() - started) * 1000
    if response.status_code != 201:
        raise BenchError(f"rule to live: POST answered {response.status_code}: {response.text}")
    return took if response.json()["live"] else WAIT_S * 1000.0


async def _series(api: httpx.AsyncClient, count: int, tag: str) -> list[float]:
    return [await _create(api, n, tag) for n in range(count)]


def _figure(latency: Latency) -> str:
    return f"p50 {latency.p50_ms:,.0f} / p99 {latency.p99_ms:,.0f} ms (max {latency.max_ms:,.0f})"


async def measure(bench: BenchEnv, plan: Plan, progress: Progress) -> list[dict[str, Any]]:
    env = bench.scope("live")
    settings = config.load(env)
    rule_set = rules(plan.spec(plan.e2e_rules, 1), seed=5, clients_prefix="live-c")
    await loading.create_topics(settings)
    pool = await asyncpg.create_pool(settings.postgres_dsn, min_size=1, max_size=2)
    after_start: list[float] = []
    steady: list[float] = []
    try:
        await loading.insert_rules(
            pool, rule_set, "webhook", UNUSED_HOOK, Keyring.from_settings(settings)
        )
        await pool.execute("INSERT INTO clients (client_id, name) VALUES ($1, $1)", CLIENT)
        await loading.write_snapshot(settings, rule_set)
        for start in range(plan.live_starts):
            progress(
                f"rule to live: cold start {start + 1}/{plan.live_starts} of"
                f" {', '.join(SERVICES)} ({len(rule_set):,} rules)"
            )
            procs = Processes(bench.run_id, f"live{start}")
            try:
                for name in SERVICES:
                    await procs.start(name, env)
                # A caller knows only the API: the clock starts when it answers, whatever
                # the rule-updater and the evaluator are still doing.
                await procs.wait_ready(only=["rule-service"])
                headers = {"Authorization": f"Bearer {settings.require_admin_token()}"}
                async with httpx.AsyncClient(
                    base_url=procs.urls["rule-service"], headers=headers, timeout=WAIT_S + 5
                ) as api:
                    after_start += await _series(api, plan.live_first_rules, f"s{start}")
                    await procs.wait_ready()
                    if start == plan.live_starts - 1:
                        progress(f"rule to live: {plan.live_rules} rules, one after another")
                        steady = await _series(api, plan.live_rules, "steady")
            finally:
                await procs.stop()
    finally:
        await loading.delete_keys(settings)
        await pool.close()
    first, later = summarize(after_start), summarize(steady)
    progress(f"rule to live just after start: {_figure(first)}; steady: {_figure(later)}")
    return [
        {
            **case(
                f"just after start ({plan.live_first_rules} rules x {plan.live_starts} starts)",
                "rules",
                Throughput(len(after_start), sum(after_start) / 1000),
            ),
            "figure": _figure(first),
            "latency_ms": dataclasses.asdict(first),
        },
        {
            **case(
                f"steady ({plan.live_rules} rules)",
                "rules",
                Throughput(len(steady), sum(steady) / 1000),
            ),
            "figure": _figure(later),
            "latency_ms": dataclasses.asdict(later),
        },
    ]
