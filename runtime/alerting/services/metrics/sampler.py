"""The background sampler: every interval, read Kafka offsets, Postgres counts and the
services' /metrics at once, and keep the resulting report for the API to serve.

Requests never wait for a dependency: they get the latest report. Each source is
bounded by a timeout and fails alone; its part of the report is then null and the
reason is listed in ``errors``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
from prometheus_client import Counter

from alerting.aio import one_line, sleep_unless
from alerting.config import Topics
from alerting.dependency_log import DependencyLog
from alerting.services.metrics.compute import MeasuredStage, OffsetsSample, Window, stage_report
from alerting.services.metrics.counts import read_counts
from alerting.services.metrics.offsets import OffsetReader
from alerting.services.metrics.scrape import scrape_all

T = TypeVar("T")
log = logging.getLogger(__name__)

SAMPLE_ERRORS = Counter(
    "alerting_metrics_sample_errors_total", "Sampling rounds in which a source failed", ["source"]
)
SCRAPE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Report:
    body: dict[str, Any]
    taken_at: float  # monotonic, for the age at request time


class Sampler:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool[Any],
        reader: OffsetReader,
        stages: Sequence[MeasuredStage],
        targets: Mapping[str, str],
        interval_s: float,
        window_s: float,
    ) -> None:
        self._pool = pool
        self._reader = reader
        self._stages = list(stages)
        self._targets = dict(targets)
        self.interval_s = interval_s
        self._window = Window(window_s)
        self._timeout_s = max(1.0, min(interval_s, 5.0))
        self.latest: Report | None = None

    async def run(self, stop: asyncio.Event) -> None:
        state = DependencyLog(log, "sampling round")
        while not stop.is_set():
            try:
                await self.sample_once()
            except Exception as exc:  # a bug in one round must not end the sampling
                state.failed(exc)
            else:
                state.ok()
            if await sleep_unless(stop, self.interval_s):
                return

    async def sample_once(self) -> Report:
        taken_at = time.monotonic()
        generated_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        errors: list[str] = []
        offsets, counts, services = await asyncio.gather(
            self._bounded("kafka", self._offsets(), errors),
            self._bounded("postgres", read_counts(self._pool), errors),
            self._bounded("services", scrape_all(self._targets, SCRAPE_TIMEOUT_S), errors),
        )
        window = self._window
        if offsets is not None:
            window.add(offsets)
        else:
            window = Window(0)  # no offsets this round: report unknown, not old numbers
        body: dict[str, Any] = {
            "generated_at": generated_at,
            "sample_interval_s": self.interval_s,
            "rate_window_s": window.span_of_rates(),
            "stages": [stage_report(s, window, Topics.dlq(s.topic)) for s in self._stages],
            "notifications": None,
            "deliveries": None,
            "rules": None,
            "clients": None,
            **(counts or {}),
            "services": services,
            "errors": errors,
        }
        self.latest = Report(body, taken_at)
        return self.latest

    async def _bounded(self, source: str, work: Awaitable[T], errors: list[str]) -> T | None:
        try:
            return await asyncio.wait_for(work, self._timeout_s)
        except TimeoutError:
            message = f"{source}: no answer within {self._timeout_s:g}s"
        except Exception as exc:  # every failure of a source is reported, none raised
            message = f"{source}: {one_line(exc)}"[:500]
        SAMPLE_ERRORS.labels(source).inc()
        errors.append(message)
        return None

    async def _offsets(self) -> OffsetsSample:
        if not self._reader.started:
            await self._reader.start()
        await self._reader.refresh()
        highwater = await self._reader.wait_highwaters(self._timeout_s / 2)
        at = time.monotonic()
        groups = {s.group: s.topic for s in self._stages if s.group is not None}
        partitions = {topic: sorted(parts) for topic, parts in highwater.items()}
        committed = await self._reader.committed(groups, partitions)
        return OffsetsSample(at, highwater, committed)
