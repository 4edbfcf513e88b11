"""When each delivery call began and how long it took, as the attempt log shows them:
the start on the wall clock (epoch seconds), the duration on the worker's monotonic
clock (both injected, so the unit tests run on a fake one)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from alerting.domain.delivery import Attempt


@dataclass
class Call:
    """When one delivery began: the attempt log's start (wall clock, epoch seconds) and
    the start of its duration (the worker's monotonic clock). Set when the task is
    planned, then again when the call itself begins (after a rate-limit wait and a
    free slot), so a task cancelled before or during its call is still timed.
    ``calling``: the receiver is being (or was) called; False while the task waits for
    its rate-limit token or a slot, when a cancel means nobody was contacted."""

    started_at: float
    began: float
    calling: bool = False


def timed(attempt: Attempt, call: Call, now: float) -> Attempt:
    """A call that never returned (cancelled at the lease budget, or raised) is
    logged from its start until ``now``, when its outcome is decided."""
    if attempt.started_at is not None:
        return attempt
    return replace(attempt, started_at=call.started_at, duration_ms=ms(now - call.began))


def ms(seconds: float) -> int:
    return max(round(seconds * 1000), 0)
