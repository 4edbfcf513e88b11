"""One measured case as the result document stores it (pure)."""

from __future__ import annotations

from typing import Any

from alerting.bench.stats import Throughput


def case(label: str, unit: str, throughput: Throughput, **detail: Any) -> dict[str, Any]:
    return {
        "case": label,
        "per_s": round(throughput.per_s, 1),
        "items": throughput.items,
        "seconds": round(throughput.seconds, 3),
        "figure": f"{throughput.per_s:,.0f} {unit}/s",
        **detail,
    }


def rules_label(rules: int, fanout: int) -> str:
    return f"{rules:,} rules, fan-out {fanout}"


def silences_label(label: str, silences: int, muted_share: float) -> str:
    """``label`` of a case run with silences: how many, and the share of matches muted."""
    if not silences:
        return label
    return f"{label}, {silences:,} silences ({muted_share:.1%} muted)"
