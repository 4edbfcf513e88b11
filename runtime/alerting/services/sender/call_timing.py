"""One delivery call as the worker records it: when it began and how long it took, as
the attempt log shows them (the start on the wall clock, epoch seconds; the duration on
the worker's monotonic clock, both injected so the unit tests run on a fake one), and
the attempt its task ended with (an answer, a cancel at the lease budget, a bug).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from alerting.domain.delivery import Attempt

log = logging.getLogger(__name__)

# A delivery cancelled at the lease budget before its call began (still waiting for its
# rate-limit token or a concurrency slot): the receiver was never contacted, so nothing
# is written for it (no deliveries row change, no attempt logged); the notification is
# retried, the attempt counted (the budget ran out: a batch too slow to start its calls
# must not loop for ever), with this as its error.
NOT_STARTED = Attempt.transient(
    "not started before the lease budget (waiting for a rate-limit token or a slot):"
    " the receiver was not called"
)


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
    return attempt.timed(call.started_at, ms(now - call.began))


def ms(seconds: float) -> int:
    return max(round(seconds * 1000), 0)


def outcome(task: asyncio.Task[Attempt]) -> Attempt:
    """The attempt a finished delivery task ended with."""
    if task.cancelled():
        return Attempt.transient("no answer within the claim lease")
    exc = task.exception()
    if exc is not None:
        # A bug in an adapter must not stall the batch: retried, and logged with its trace.
        log.error("delivery raised", exc_info=exc)
        return Attempt.transient(f"internal error: {type(exc).__name__}")
    return task.result()
