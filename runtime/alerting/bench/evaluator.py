"""The evaluator alone: AlertNew messages waiting in its topic, the process started,
timed until its group has committed them all (it commits only after every
AlertMatched of a batch is acknowledged, so the output is complete by then)."""

from __future__ import annotations

import time
from typing import Any

from alerting import config
from alerting.bench import loading
from alerting.bench.cases import case, rules_label
from alerting.bench.environment import BenchEnv
from alerting.bench.plan import Plan
from alerting.bench.probes import Committed, time_until
from alerting.bench.processes import Processes
from alerting.bench.ruleset import alerts, rules
from alerting.dev.infra import Progress


async def measure_one(
    bench: BenchEnv, plan: Plan, count: int, fanout: int, progress: Progress
) -> dict[str, Any]:
    spec = plan.spec(count, fanout)
    env = bench.scope(f"ev{count}x{fanout}")
    settings = config.load(env)
    label = rules_label(spec.total, fanout)
    n = max(1, plan.evaluator_matches // fanout)
    await loading.create_topics(settings)
    await loading.write_snapshot(settings, rules(spec))
    batch = alerts(spec, n, f"ev-{bench.run_id}-", int(time.time()))
    await loading.produce(settings, loading.alert_messages(settings.topics.alerts_new, batch))
    progress(f"evaluator, {label}: {n:,} alerts waiting; starting the evaluator")
    procs = Processes(bench.run_id, f"ev{count}x{fanout}")
    probe = Committed(settings.kafka, settings.topics.alerts_new, procs.group("evaluator"))
    try:
        async with probe:
            await procs.start("evaluator", env)
            took = await time_until(probe, n, 300, f"evaluator {label}", procs)
    finally:
        await procs.stop()
        await loading.delete_keys(settings)
    result = case(
        label, "alerts", took, rules=spec.total, fanout=fanout, matches_per_s=took.per_s * fanout
    )
    progress(f"evaluator, {label}: {result['figure']} ({took.per_s * fanout:,.0f} matches/s)")
    return result


async def measure(bench: BenchEnv, plan: Plan, progress: Progress) -> list[dict[str, Any]]:
    return [
        await measure_one(bench, plan, count, fanout, progress)
        for count in plan.evaluator_rules
        for fanout in plan.fanouts
    ]
