"""The evaluator alone: AlertNew messages waiting in its topic, the process started,
timed until its group has committed them all (it commits only after every
AlertMatched of a batch is acknowledged, so the output is complete by then).

Each case runs twice when the plan has silences: without, then with that many active
silences in the snapshot (``silenceset``), so the two figures come from the same run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alerting import config
from alerting.bench import loading
from alerting.bench.cases import case, rules_label, silences_label
from alerting.bench.environment import BenchEnv
from alerting.bench.plan import Plan
from alerting.bench.probes import Committed, time_until
from alerting.bench.processes import Processes
from alerting.bench.ruleset import alerts, rules
from alerting.bench.silenceset import muted_share, silences
from alerting.dev.infra import Progress
from alerting.domain.matching import RuleIndex
from alerting.domain.silences import SilenceIndex


async def measure_one(
    bench: BenchEnv, plan: Plan, count: int, fanout: int, progress: Progress, silenced: int = 0
) -> dict[str, Any]:
    spec = plan.spec(count, fanout)
    name = f"ev{count}x{fanout}" + (f"s{silenced}" if silenced else "")
    env = bench.scope(name)
    settings = config.load(env)
    n = max(1, plan.evaluator_matches // fanout)
    now = datetime.now(UTC)
    rule_set, silence_set = rules(spec), silences(spec, silenced, now)
    batch = alerts(spec, n, f"ev-{bench.run_id}-", int(now.timestamp()))
    share = 0.0
    if silence_set:
        index = RuleIndex(rule_set)
        found = [(m.client_id, a) for a in batch for m in index.matches_for(a)]
        share = muted_share(SilenceIndex(silence_set), found, now)
    label = silences_label(rules_label(spec.total, fanout), silenced, share)
    await loading.create_topics(settings)
    await loading.write_snapshot(settings, rule_set, silence_set)
    await loading.produce(settings, loading.alert_messages(settings.topics.alerts_new, batch))
    progress(f"evaluator, {label}: {n:,} alerts waiting; starting the evaluator")
    procs = Processes(bench.run_id, name)
    probe = Committed(settings.kafka, settings.topics.alerts_new, procs.group("evaluator"))
    try:
        async with probe:
            await procs.start("evaluator", env)
            took = await time_until(probe, n, 300, f"evaluator {label}", procs)
    finally:
        await procs.stop()
        await loading.delete_keys(settings)
    result = case(
        label,
        "alerts",
        took,
        rules=spec.total,
        fanout=fanout,
        matches_per_s=took.per_s * fanout,
        silences=silenced,
        muted_share=round(share, 4),
    )
    progress(f"evaluator, {label}: {result['figure']} ({took.per_s * fanout:,.0f} matches/s)")
    return result


async def measure(bench: BenchEnv, plan: Plan, progress: Progress) -> list[dict[str, Any]]:
    return [
        await measure_one(bench, plan, count, fanout, progress, silenced)
        for count in plan.evaluator_rules
        for fanout in plan.fanouts
        for silenced in dict.fromkeys((0, plan.silences))
    ]
