"""In-process matching: what the evaluator's index look-up costs per alert, without
Kafka, decoding or encoding (``RuleIndex.match``, as the evaluator calls it)."""

from __future__ import annotations

import time
from typing import Any

from alerting.bench.cases import case, rules_label
from alerting.bench.plan import Plan
from alerting.bench.ruleset import alerts, rules
from alerting.bench.stats import Throughput
from alerting.dev.infra import Progress
from alerting.domain.matching import RuleIndex


def measure(plan: Plan, progress: Progress) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for count in plan.matching_rules:
        for fanout in plan.fanouts:
            spec = plan.spec(count, fanout)
            index = RuleIndex(rules(spec))
            # The fields as the evaluator has them (``WireAlert``): plain strings.
            batch = [
                (a.severity.value, a.source, a.name)
                for a in alerts(spec, plan.matching_alerts, "m-", int(time.time()))
            ]
            match = index.match
            started = time.perf_counter()
            matched = sum(len(match(severity, source, name)) for severity, source, name in batch)
            took = Throughput(len(batch), time.perf_counter() - started)
            assert matched == len(batch) * fanout, "the rule set's fan-out is off"
            label = rules_label(len(index), fanout)
            result = case(label, "alerts", took, rules=len(index), fanout=fanout)
            out.append(result)
            progress(f"matching in-process, {result['case']}: {result['figure']}")
    return out
