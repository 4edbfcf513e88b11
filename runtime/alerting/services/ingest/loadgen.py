"""Deterministic synthetic alerts for load tests, and the pacing they are sent at.

Pure: the caller supplies the seed, the distributions and the event time, so the same
seed (and run tag) always yields the same alerts, ids included. Ids embed the seed, the
run tag and the index: the CLI and the ingest jobs pick a fresh tag per run by default,
because a rerun with identical ids would be deduplicated downstream and measure nothing.

Each alert draws its fields in a fixed order from one ``random.Random``, so the sequence
does not depend on how it is cut into batches.

It lives in ingest, not in the domain: it is load-test tooling for ingest's front door,
used by ingest's load jobs (``jobs``, validated by ``models``) and by ``alerting loadgen``,
the same generator driven through ingest's HTTP API. Importing it pulls in nothing else
of the service.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from alerting.domain.model import WILDCARD, Alert, Severity
from alerting.domain.text import LABEL

MAX_CHOICES = 100
MAX_TEXT = 200
MAX_BATCH = 1000

DEFAULT_SEVERITIES: Mapping[str, float] = {"LOW": 4, "MEDIUM": 3, "HIGH": 2, "CRITICAL": 1}
DEFAULT_SOURCES: Mapping[str, float] = {
    "payments": 3,
    "auth": 3,
    "search": 2,
    "checkout": 2,
    "inventory": 1,
    "shipping": 1,
}
DEFAULT_NAMES: Mapping[str, float] = {
    "error_rate_high": 4,
    "latency_p99_high": 4,
    "card_declined_spike": 2,
    "login_failures": 2,
    "disk_almost_full": 1,
    "pod_restarting": 2,
    "queue_backlog": 1,
    "certificate_expiring": 1,
}


class SpecError(ValueError):
    """A distribution or parameter that cannot drive a generator; says which and why."""


@dataclass(frozen=True, slots=True)
class Weighted:
    """A weighted choice, drawn with one uniform number (bisect over cumulative weights)."""

    values: tuple[str, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, weights: Mapping[str, float], what: str) -> Weighted:
        if not weights:
            raise SpecError(f"{what}: give at least one value")
        if len(weights) > MAX_CHOICES:
            raise SpecError(f"{what}: at most {MAX_CHOICES} values")
        for value, weight in weights.items():
            if not math.isfinite(weight) or weight < 0:
                raise SpecError(f"{what}: weight of {value!r} must be a finite number >= 0")
        kept = [(v, w) for v, w in weights.items() if w > 0]
        if not kept:
            raise SpecError(f"{what}: at least one weight must be > 0")
        return cls(tuple(v for v, _ in kept), tuple(itertools.accumulate(w for _, w in kept)))

    def pick(self, u: float) -> str:
        """The value for a uniform draw ``u`` in [0, 1)."""
        i = bisect.bisect_right(self.cumulative, u * self.cumulative[-1])
        return self.values[min(i, len(self.values) - 1)]


def check_text(value: str, what: str) -> str:
    """A source or name an alert may carry: what the ingest API would accept."""
    if not value or len(value) > MAX_TEXT:
        raise SpecError(f"{what}: {value[:40]!r} must be 1 to {MAX_TEXT} characters")
    if value == WILDCARD:
        raise SpecError(f"{what}: '*' is a rule wildcard, not an alert value")
    violation = LABEL.violation(value)
    if violation is not None:
        raise SpecError(f"{what}: {value[:40]!r}: {violation}")
    return value


def severity_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Severity names in any case, normalised to the enum's spelling."""
    normalised: dict[str, float] = {}
    for name, weight in weights.items():
        upper = name.strip().upper()
        if upper not in Severity.__members__:
            raise SpecError(f"severity: {name!r} is not one of LOW, MEDIUM, HIGH, CRITICAL")
        normalised[upper] = normalised.get(upper, 0) + weight
    return normalised


def parse_weights(text: str, what: str) -> dict[str, float]:
    """``"HIGH=3,LOW=1"`` (a bare value weighs 1) -> {"HIGH": 3.0, "LOW": 1.0}."""
    weights: dict[str, float] = {}
    for item in text.split(","):
        value, raw = item.rsplit("=", 1) if "=" in item else (item, "1")
        value = value.strip()
        if not value:
            raise SpecError(f"{what}: empty value in {text!r} (use value=weight,value=weight)")
        try:
            weight = float(raw)
        except ValueError:
            raise SpecError(
                f"{what}: weight {raw.strip()!r} of {value!r} is not a number"
            ) from None
        weights[value] = weights.get(value, 0.0) + weight
    return weights


@dataclass(frozen=True, slots=True)
class LoadSpec:
    seed: int = 0
    tag: str = ""
    severities: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SEVERITIES))
    sources: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SOURCES))
    names: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_NAMES))

    def id_prefix(self) -> str:
        return f"lg-{self.seed}-{self.tag}-" if self.tag else f"lg-{self.seed}-"


class AlertStream:
    """The alerts of one spec, in order; ``take`` continues where the last call ended."""

    def __init__(self, spec: LoadSpec) -> None:
        if spec.tag and not (spec.tag.isascii() and spec.tag.isalnum() and len(spec.tag) <= 32):
            raise SpecError(f"tag: {spec.tag[:40]!r} must be 1 to 32 letters or digits")
        for value in itertools.chain(spec.sources, spec.names):
            check_text(value, "source/name")
        self._severity = Weighted.of(severity_weights(spec.severities), "severity")
        self._source = Weighted.of(spec.sources, "source")
        self._name = Weighted.of(spec.names, "name")
        self._rng = random.Random(spec.seed)
        self._prefix = spec.id_prefix()
        self._run = spec.tag or str(spec.seed)
        self.index = 0

    def take(self, n: int, event_ts: int) -> list[Alert]:
        return [self._next(event_ts) for _ in range(n)]

    def _next(self, event_ts: int) -> Alert:
        draw = self._rng.random
        severity = Severity(self._severity.pick(draw()))
        source = self._source.pick(draw())
        name = self._name.pick(draw())
        host = f"{source}-{self._rng.randrange(1, 33):02d}"
        alert = Alert(
            alert_id=f"{self._prefix}{self.index:09d}",
            severity=severity,
            source=source,
            name=name,
            event_ts=event_ts,
            context={"host": host, "loadgen_run": self._run},
        )
        self.index += 1
        return alert


def default_batch(rate: float) -> int:
    """About ten sends a second: smooth pacing without a request per alert."""
    return max(1, min(MAX_BATCH // 2, math.ceil(rate / 10)))


def batch_sizes(total: int | None, batch: int) -> Iterable[int]:
    """Batch sizes adding up to ``total`` (endless when None: a duration-bound run)."""
    sent = 0
    while total is None or sent < total:
        n = batch if total is None else min(batch, total - sent)
        sent += n
        yield n


def delay_before_next(sent: int, rate: float, elapsed_s: float) -> float:
    """Seconds to wait so that ``sent`` alerts took ``sent / rate`` seconds; 0 when behind.

    Pacing against the start time (not the previous send) keeps the average rate right
    even when single sends are slow.
    """
    return max(0.0, sent / rate - elapsed_s)
