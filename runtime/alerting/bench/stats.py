"""Percentiles and rates: the arithmetic behind every figure the bench prints."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), interpolating linearly between the closest ranks
    (numpy's default), so p99 of a small sample is not just its maximum."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside [0, 100]")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(position), math.ceil(position)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (position - lo)


@dataclass(frozen=True, slots=True)
class Latency:
    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


def summarize(values_ms: Sequence[float]) -> Latency:
    return Latency(
        count=len(values_ms),
        p50_ms=percentile(values_ms, 50),
        p95_ms=percentile(values_ms, 95),
        p99_ms=percentile(values_ms, 99),
        max_ms=max(values_ms),
    )


@dataclass(frozen=True, slots=True)
class Throughput:
    items: int
    seconds: float

    def __post_init__(self) -> None:
        if self.items <= 0 or self.seconds <= 0:
            raise ValueError(f"no throughput from {self.items} items in {self.seconds} s")

    @property
    def per_s(self) -> float:
        return self.items / self.seconds
