"""Progress counters read from outside the measured process, and timing them.

The counter is sampled from before the process starts. A stage is timed between the
first sample that shows progress and the one that shows all of it, counting only the
items finished in between, so start-up (imports, the slow first group join on Tansu,
loading 100,000 rules) never counts as work and neither does a batch half done before
the first sample. Work too small to show two samples falls back to timing from the
last idle sample, which overstates the time by at most one poll interval.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from alerting.bench.processes import BenchError, Processes
from alerting.bench.stats import Throughput
from alerting.config import KafkaSettings
from alerting.services.metrics.offsets import OffsetReader

Probe = Callable[[], Awaitable[int]]
Sample = tuple[float, int]  # (monotonic seconds, count)
POLL_S = 0.05


async def observe(
    probe: Probe,
    expected: int,
    timeout: float,
    what: str,
    procs: Processes | None = None,
    poll_s: float = POLL_S,
) -> list[Sample]:
    """Samples of ``probe`` until it reaches ``expected``; BenchError after ``timeout``."""
    samples: list[Sample] = []
    deadline = time.monotonic() + timeout
    while True:
        count = await probe()
        samples.append((time.monotonic(), count))
        if count >= expected:
            return samples
        if samples[-1][0] > deadline:
            raise BenchError(f"{what}: {count:,} of {expected:,} after {timeout:.0f}s")
        if procs is not None:
            procs.check_alive()
        await asyncio.sleep(poll_s)


def throughput(samples: Sequence[Sample], expected: int) -> Throughput:
    """The rate shown by samples ending at ``expected`` (see the module docstring)."""
    end, _ = samples[-1]
    moving = [s for s in samples if s[1] > 0]
    first_at, first_count = moving[0]
    if first_count < expected and end > first_at:
        return Throughput(expected - first_count, end - first_at)
    idle = [at for at, count in samples if count == 0]
    if not idle:
        raise BenchError("the work finished before it could be timed; give it more")
    return Throughput(expected, end - idle[-1])


async def time_until(
    probe: Probe, expected: int, timeout: float, what: str, procs: Processes | None = None
) -> Throughput:
    try:
        return throughput(await observe(probe, expected, timeout, what, procs), expected)
    except BenchError as exc:
        raise BenchError(f"{what}: {exc}") from None


class Committed:
    """Sum of a consumer group's committed offsets on a topic: what it has finished."""

    def __init__(self, kafka: KafkaSettings, topic: str, group: str) -> None:
        self._reader = OffsetReader(kafka, [topic])
        self._topic = topic
        self._group = group
        self._partitions = range(kafka.partitions)

    async def __aenter__(self) -> Committed:
        await self._reader.start()
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self._reader.stop()

    async def __call__(self) -> int:
        done = await self._reader.committed(
            {self._group: self._topic}, {self._topic: self._partitions}
        )
        return sum(done[self._group].values())
