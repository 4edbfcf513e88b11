"""The evaluator's hot path in-process, with and without silences, side by side.

What one evaluator does per alert, without Kafka: decode the AlertNew, match it, build
its AlertMatched messages. Both variants run on the same alerts, alternately, three
times each, and the best CPU time (not wall time) of each is kept: on a shared machine
the process figures of the evaluator stage move by more than the silences cost, while
these stay comparable within a few per cent.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from alerting import codec
from alerting.bench.cases import case, rules_label, silences_label
from alerting.bench.plan import Plan
from alerting.bench.ruleset import alerts, rules
from alerting.bench.silenceset import silences
from alerting.bench.stats import Throughput
from alerting.dev.infra import Progress
from alerting.services.evaluator.matcher import Matcher
from alerting.services.evaluator.silencing import Instant

ROUNDS = 3
BATCH = 500  # alerts per Instant, as the evaluator reads the clock once per batch


def _cpu_seconds(matcher: Matcher, messages: list[bytes]) -> float:
    started = time.process_time()
    for i in range(0, len(messages), BATCH):
        at = Instant(datetime.now(UTC))
        out = []
        for data in messages[i : i + BATCH]:
            out += matcher.matches(codec.decode_wire_alert(data), at)
    return time.process_time() - started


def measure_one(plan: Plan, count: int, fanout: int) -> list[dict[str, Any]]:
    spec = plan.spec(count, fanout)
    now = datetime.now(UTC)
    rule_set = rules(spec)
    n = max(1, plan.matching_alerts // fanout)
    messages = [codec.encode_alert(a) for a in alerts(spec, n, "h-", int(now.timestamp()))]
    variants = [
        (0, Matcher(rule_set)),
        (plan.silences, Matcher(rule_set, silences(spec, plan.silences, now))),
    ]
    best = [float("inf")] * len(variants)
    for _ in range(ROUNDS):
        for i, (_, matcher) in enumerate(variants):
            best[i] = min(best[i], _cpu_seconds(matcher, messages))
    muted = sum(
        bool(codec.decode_match(value).silence_ids)
        for data in messages
        for _, value in variants[-1][1].matches(codec.decode_wire_alert(data), Instant(now))
    )
    share = muted / (n * fanout)
    out = []
    for (silenced, _), seconds in zip(variants, best, strict=True):
        label = silences_label(f"in-process, {rules_label(spec.total, fanout)}", silenced, share)
        took = Throughput(n, seconds)
        out.append(
            case(
                label,
                "alerts",
                took,
                rules=spec.total,
                fanout=fanout,
                silences=silenced,
                in_process=True,
                muted_share=round(share if silenced else 0.0, 4),
            )
        )
    return out


def measure(plan: Plan, progress: Progress) -> list[dict[str, Any]]:
    if not plan.silences:
        return []
    out: list[dict[str, Any]] = []
    for count in plan.evaluator_rules:
        for fanout in plan.fanouts:
            pair = measure_one(plan, count, fanout)
            cost = pair[0]["per_s"] / pair[1]["per_s"] - 1
            progress(
                f"evaluator {pair[1]['case']}: {pair[1]['figure']} vs {pair[0]['figure']}"
                f" without ({cost:+.0%} CPU per alert)"
            )
            out += pair
    return out
