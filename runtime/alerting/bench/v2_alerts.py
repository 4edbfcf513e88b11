"""The side-by-side case's pure parts: the alerts both sides get, the latency each
delivered webhook shows, and the two cases with their ratio.

Both sides get the same alert list, in the shape Prometheus posts to an Alertmanager
(API v2) and in batches of 64 as Prometheus sends them. The post time travels as an
annotation: Alertmanager's webhook carries annotations, the platform's carries them in
the context, so latency is the sink's receive time minus it on both sides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from alerting.bench.cases import case
from alerting.bench.poster import SENT_AT
from alerting.bench.stats import Latency, Throughput, summarize

BATCH = 64  # Prometheus' notifier sends at most 64 alerts per request
SOURCE = "bench-am"  # the service label: the platform's source, one rule matches it
SEVERITIES = ("critical", "error", "warning", "info")
# endsAt ahead, as Prometheus sets it, but beyond the longest run (DELIVERY_TIMEOUT_S is
# 300 s): no alert resolves while either side delivers, so no resolved webhook is counted.
VALID_FOR_S = 3600


def rfc3339(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds")


def batch(prefix: str, first: int, count: int, now: float) -> list[dict[str, Any]]:
    """Alerts ``first`` .. ``first+count-1``, each with labels of its own (one group each
    in Alertmanager, one alert id each in the platform), sent at ``now``."""
    return [
        {
            "labels": {
                "alertname": f"{prefix}{i}",
                "severity": SEVERITIES[i % len(SEVERITIES)],
                "service": SOURCE,
                "instance": f"host-{i % 97}",
            },
            "annotations": {SENT_AT: f"{now:.6f}", "summary": "side-by-side bench"},
            "startsAt": rfc3339(now),
            "endsAt": rfc3339(now + VALID_FOR_S),
            "generatorURL": "http://prometheus.bench/graph",
        }
        for i in range(first, first + count)
    ]


def alertmanager_latencies_ms(items: Sequence[dict[str, Any]]) -> list[float]:
    """One per alert in each Alertmanager webhook (one alert per call without grouping)."""
    return [
        (item["received_at"] - float(alert["annotations"][SENT_AT])) * 1000
        for item in items
        for alert in item["body"]["alerts"]
    ]


def platform_latencies_ms(items: Sequence[dict[str, Any]]) -> list[float]:
    """One per platform webhook: the annotation is in the notification's context."""
    return [
        (item["received_at"] - float(item["body"]["context"][SENT_AT])) * 1000 for item in items
    ]


def side(label: str, took: Throughput, latency: Latency, **detail: Any) -> dict[str, Any]:
    return {
        **case(label, "alerts", took, **detail),
        "figure": f"{took.per_s:,.0f} alerts/s, p50 {latency.p50_ms:,.0f}"
        f" / p99 {latency.p99_ms:,.0f} ms",
        "latency_ms": {
            "p50_ms": round(latency.p50_ms, 1),
            "p95_ms": round(latency.p95_ms, 1),
            "p99_ms": round(latency.p99_ms, 1),
            "max_ms": round(latency.max_ms, 1),
        },
    }


Side = tuple[Throughput, Sequence[float], Throughput]  # delivered, latencies, posts taken


def compared(alerts: int, alertmanager: Side, platform: Side, version: str) -> list[dict[str, Any]]:
    """The stage's cases: Alertmanager, the platform, and the platform/Alertmanager ratio
    of alerts/s delivered (above 1: the platform delivered faster)."""
    labels = {
        "am": f"Alertmanager {version}, {alerts:,} alerts",
        "platform": f"platform, same {alerts:,} alerts",
    }
    cases = []
    for name, (took, latencies_ms, posted) in (("am", alertmanager), ("platform", platform)):
        latency = summarize(latencies_ms)
        detail = {"side": name, "accepted_per_s": round(posted.per_s, 1)}
        cases.append(side(labels[name], took, latency, **detail))
    am, pf = cases
    ratio = _ratio(pf["per_s"], am["per_s"])
    p99_ratio = _ratio(pf["latency_ms"]["p99_ms"], am["latency_ms"]["p99_ms"])
    return [
        *cases,
        {
            "case": "platform / Alertmanager",
            "figure": f"{_times(ratio)} alerts/s, p99 {_times(p99_ratio)}",
            "side": "ratio",
            "ratio": None if ratio is None else round(ratio, 3),
            "p99_ratio": None if p99_ratio is None else round(p99_ratio, 3),
        },
    ]


def _ratio(platform: float, alertmanager: float) -> float | None:
    """None when Alertmanager's figure is 0 (nothing delivered, or all within one
    millisecond): no ratio, rather than a ZeroDivisionError that loses both cases."""
    return platform / alertmanager if alertmanager > 0 else None


def _times(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.2f}x"


def not_run(reason: str) -> list[dict[str, Any]]:
    """The stage when Alertmanager cannot be had: the table and the document say why."""
    label = "Alertmanager side by side"
    return [{"case": label, "figure": f"not run: {reason}", "skipped": reason}]
