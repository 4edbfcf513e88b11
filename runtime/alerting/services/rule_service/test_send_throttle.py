"""At most one test send per endpoint every ``INTERVAL_S``.

A test send makes an outbound request (or an email) on the caller's command: unthrottled,
a client key could make the platform hammer any receiver it may name, or fill a
PagerDuty service with test incidents. The limit lives in this rule-service process
(per replica, like the ingest quotas): N replicas allow N sends per interval, which still
bounds the rate; sharing it would need Redis for a guard against a loop, not a meter.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

INTERVAL_S = 5.0
MAX_TRACKED = 10_000  # endpoints remembered; past it, only those still waiting are kept


class Throttle:
    def __init__(
        self, interval_s: float = INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self._last: dict[Hashable, float] = {}

    def wait_s(self, key: Hashable) -> float:
        """0 and the send is counted, or how long until ``key`` may send again."""
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            return self.interval_s - (now - last)
        if len(self._last) >= MAX_TRACKED:
            # An entry past its interval is the same as none.
            self._last = {k: t for k, t in self._last.items() if now - t < self.interval_s}
        self._last[key] = now
        return 0.0


TEST_SENDS = Throttle()
