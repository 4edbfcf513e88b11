"""Logging a dependency's state, not every failed try.

A loop that retries Postgres every 200 ms logged a traceback per try: a 20 s outage
wrote thousands of lines, and the one that matters (when it started, when it ended) was
lost among them. A ``DependencyLog`` per loop writes instead:

* one WARNING when the dependency goes down, with a one-line reason;
* "still unavailable after N s" every ``REMIND_S`` while it stays down;
* one INFO "recovered after N s" when a try succeeds again.

An expected outage error (``alerting.outages.is_outage``: refused or reset connections,
timeouts, the drivers' "server unavailable" errors) carries no traceback. Any other
error keeps its traceback, since it is probably a bug, but the same error repeated by
a retrying loop is logged once per ``REMIND_S`` with a count of the ones left out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from alerting.aio import one_line
from alerting.outages import is_outage

MAX_KEPT = 100  # distinct unexpected errors remembered; a loop rarely has more than one
# Long enough that a 20 s outage writes two or three lines, short enough that an
# operator tailing the log sees it is still going.
REMIND_S = 30.0

Clock = Callable[[], float]


class DependencyLog:
    """The state of one dependency as one loop sees it, logged on change."""

    def __init__(
        self,
        log: logging.Logger,
        what: str,
        *,
        remind_s: float = REMIND_S,
        clock: Clock = time.monotonic,
        expected: Callable[[BaseException], bool] = is_outage,
    ) -> None:
        self._log = log
        self.what = what
        self._remind_s = remind_s
        self._clock = clock
        self._expected = expected
        self._down_since: float | None = None
        self._up_since = float("-inf")
        self._reminded_at = 0.0
        self._failures = 0
        # (error type, message) -> when last logged with its traceback, and repeats since
        self._unexpected: dict[tuple[str, str], tuple[float, int]] = {}

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def began(self) -> float:
        """When a try begins, for ``failed(began=...)``."""
        return self._clock()

    def failed(self, exc: BaseException, began: float | None = None) -> None:
        """A try failed with ``exc``. Where tries run side by side (ingest's requests),
        ``began`` says when this one started: one that started before the recovery was
        logged failed during the outage already logged, so it is not a new one."""
        now = self._clock()
        first = self._down_since is None
        if first and began is not None and began < self._up_since:
            return
        if self._down_since is None:
            self._down_since, self._reminded_at, self._failures = now, now, 0
        down_since = self._down_since
        self._failures += 1
        if not self._expected(exc):
            self._unexpected_error(exc, now)
        elif first:
            self._log.warning("%s unavailable: %s", self.what, one_line(exc))
        elif now - self._reminded_at >= self._remind_s:
            self._reminded_at = now
            self._log.warning(
                "%s still unavailable after %.0f s (%d failed tries): %s",
                self.what, now - down_since, self._failures, one_line(exc),
            )  # fmt: skip

    def ok(self) -> None:
        """A try succeeded: the first one after failures logs the recovery."""
        if self._down_since is None:
            return
        self._log.info(
            "%s recovered after %.1f s (%d failed tries)",
            self.what, self._clock() - self._down_since, self._failures,
        )  # fmt: skip
        self._down_since = None
        self._up_since = self._clock()
        self._failures = 0
        self._unexpected.clear()

    def _unexpected_error(self, exc: BaseException, now: float) -> None:
        key = (type(exc).__name__, str(exc)[:200])
        logged_at, repeats = self._unexpected.get(key, (None, 0))
        if logged_at is not None and now - logged_at < self._remind_s:
            self._unexpected[key] = (logged_at, repeats + 1)
            return
        again = f" ({repeats} more like it since the last)" if repeats else ""
        self._log.error("%s failed: %s%s", self.what, one_line(exc), again, exc_info=exc)
        if len(self._unexpected) >= MAX_KEPT:
            self._unexpected.clear()
        self._unexpected[key] = (now, 0)
