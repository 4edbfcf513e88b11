"""Pure arithmetic of the pipeline overview: lag, rates over a window, status counts.

No I/O here: the sampler collects offsets and counts, these functions turn them into
the numbers the API reports, and unit tests pin them down without a broker.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

NOTIFICATION_STATUSES = ("PENDING", "SENDING", "RETRY", "SENT", "FAILED", "GROUPED")
DELIVERY_STATUSES = ("SENT", "FAILED", "RETRY", "GROUPED")

Offsets = Mapping[int, int]  # partition -> offset


@dataclass(frozen=True)
class MeasuredStage:
    """One hop of the pipeline as its lag is measured: the topic it reads and the group
    that commits on it (the running stage itself is ``alerting.services.stage.Stage``)."""

    stage: str
    topic: str
    group: str | None = None  # None: the stage produces to ``topic`` (ingest)


@dataclass(frozen=True)
class OffsetsSample:
    """Kafka offsets read at one moment (``at``: monotonic seconds)."""

    at: float
    highwater: Mapping[str, Offsets]  # topic -> partition -> highwater
    committed: Mapping[str, Offsets]  # group -> partition -> committed (on its stage's topic)


def produced_total(highwater: Offsets) -> int:
    """Messages ever written to a topic: the sum of its partitions' highwater marks."""
    return sum(highwater.values())


def committed_total(highwater: Offsets, committed: Offsets) -> int:
    """Messages a group has consumed; a partition it never committed counts as 0."""
    return sum(committed.get(p, 0) for p in highwater)


def lag(highwater: Offsets, committed: Offsets) -> int:
    """Messages produced but not yet committed by the group, over every partition.

    A partition without a commit is read from the start (``earliest``), so its whole
    highwater is lag. A commit read slightly after the highwater can exceed it; that
    partition contributes 0, never a negative number.
    """
    return sum(max(0, hw - committed.get(p, 0)) for p, hw in highwater.items())


def rate(older: int, newer: int, seconds: float) -> float | None:
    """Per-second increase of a counter; None when it cannot be known.

    A counter that went down was reset (a topic recreated, an in-memory broker
    restarted): the difference says nothing, so no rate rather than a wrong one.
    """
    if seconds <= 0 or newer < older:
        return None
    return round((newer - older) / seconds, 3)


def fill_statuses(counts: Mapping[str, int], statuses: Iterable[str]) -> dict[str, int]:
    """Every known status with its count, 0 for the absent ones (GROUP BY omits them)."""
    return {status: int(counts.get(status, 0)) for status in statuses}


class Window:
    """The offsets samples of the last ``span_s`` seconds; rates are taken across it."""

    def __init__(self, span_s: float) -> None:
        self.span_s = span_s
        self._samples: deque[OffsetsSample] = deque()

    def add(self, sample: OffsetsSample) -> None:
        self._samples.append(sample)
        # Keep one sample at or beyond the span so the rate always covers the full span.
        while len(self._samples) > 2 and sample.at - self._samples[1].at >= self.span_s:
            self._samples.popleft()

    def span_of_rates(self) -> float | None:
        """Seconds between the samples rates are taken from; None with fewer than two."""
        if len(self._samples) < 2:
            return None
        return round(self._samples[-1].at - self._samples[0].at, 3)

    @property
    def oldest(self) -> OffsetsSample | None:
        return self._samples[0] if self._samples else None

    @property
    def newest(self) -> OffsetsSample | None:
        return self._samples[-1] if self._samples else None


def _per_s(window: Window, value: Any) -> float | None:
    """``value(sample)`` as a rate between the window's oldest and newest samples."""
    old, new = window.oldest, window.newest
    if old is None or new is None or old is new:
        return None
    before, after = value(old), value(new)
    if before is None or after is None:
        return None
    return rate(before, after, new.at - old.at)


def _topic_total(sample: OffsetsSample, topic: str) -> int | None:
    hw = sample.highwater.get(topic)
    return None if hw is None else produced_total(hw)


def _group_total(sample: OffsetsSample, stage: MeasuredStage) -> int | None:
    hw = sample.highwater.get(stage.topic)
    if hw is None or stage.group is None:
        return None
    return committed_total(hw, sample.committed.get(stage.group, {}))


def stage_report(stage: MeasuredStage, window: Window, dlq_topic: str) -> dict[str, Any]:
    """One entry of ``stages``: totals from the newest sample, rates across the window.

    Numbers are None when the topic does not exist (yet) or its offsets are unknown.
    """
    new = window.newest
    entry: dict[str, Any] = {"stage": stage.stage}
    if stage.group is not None:
        entry["group"] = stage.group
    entry["topic"] = stage.topic
    hw = None if new is None else new.highwater.get(stage.topic)
    entry["produced_total"] = None if hw is None else produced_total(hw)
    if stage.group is None:
        entry["produced_per_s"] = _per_s(window, lambda s: _topic_total(s, stage.topic))
        return entry
    committed = {} if new is None else new.committed.get(stage.group, {})
    entry["committed_total"] = None if hw is None else committed_total(hw, committed)
    entry["lag"] = None if hw is None else lag(hw, committed)
    entry["consumed_per_s"] = _per_s(window, lambda s: _group_total(s, stage))
    dlq = None if new is None else new.highwater.get(dlq_topic)
    entry["dlq_total"] = None if dlq is None else produced_total(dlq)
    return entry
