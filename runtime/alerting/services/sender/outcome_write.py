"""An outcome write tried again while the database is away and the claim still holds.

Once receivers were called, their outcome must be written, or another sender calls
them again when the lease runs out. The worker (a batch of notifications) and the
flusher (a batch of digests) both write through ``write_while_held``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from alerting.services.sender import metrics
from alerting.services.sender.store import StoreUnavailable

T = TypeVar("T")

# An outcome write the database cannot take is tried again until this share of the
# lease. The lease's end is the database's now() during the claim plus lease_s; it is
# counted here on this process's monotonic clock from just before the claim statement
# was sent, which is never later than that now(), so no skew between the two clocks
# can make a retry outlive the claim. The rest of the lease is the margin for the last
# try's own round trip and for the clocks' rates (a takeover needs the lease to have
# ended by the database's clock). Past it, another sender may take the claim over at
# any moment and deliver again: the outcome of a late write would no longer decide.
WRITE_DEADLINE = 0.95
# Backoff between tries of an outcome write: doubling from the first, capped, with
# equal jitter, so the senders of a fleet do not all hit a recovering database at once.
WRITE_RETRY_FIRST_S = 0.1
WRITE_RETRY_MAX_S = 2.0


@dataclass(frozen=True, slots=True)
class Retrying:
    """The clock, sleep and randomness the retries run on (fakes in the unit tests), and
    the caller's logger, so an outage's lines name the loop that hit it."""

    clock: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]
    rng: random.Random
    log: logging.Logger


async def write_while_held(
    write: Callable[[], Awaitable[T]], what: str, deadline: float, r: Retrying
) -> T | None:
    """``write()``'s result, tried again while it raises ``StoreUnavailable`` and the
    clock is before ``deadline``; None when given up. ``what`` names the outcomes in
    the log (``the outcomes of 3 notification(s)``). Two log lines at most per write
    (the first failure, then landed or given up): an outage is not a traceback per try.
    Any other error is raised at once."""
    failures = 0
    first_failure = 0.0
    backoff = WRITE_RETRY_FIRST_S
    while True:
        try:
            found = await write()
        except StoreUnavailable as exc:
            metrics.OUTCOME_WRITE_FAILURES.inc()
            failures += 1
            now = r.clock()
            left = deadline - now
            if failures == 1:
                first_failure = now
                r.log.warning(
                    "cannot write %s (%s): trying again for %.1f s, while their claim holds",
                    what, exc, max(left, 0.0),
                )  # fmt: skip
            if left <= 0:
                r.log.error(
                    "gave up writing %s after %d tries (%s): their claim is taken over"
                    " when the lease runs out, and their receivers are called again",
                    what, failures, exc,
                )  # fmt: skip
                return None
            await r.sleep(min(r.rng.uniform(backoff / 2, backoff), left))
            backoff = min(backoff * 2, WRITE_RETRY_MAX_S)
            continue
        if failures:
            r.log.info(
                "wrote %s after %d failed tries (%.1f s)",
                what, failures, r.clock() - first_failure,
            )  # fmt: skip
        return found
