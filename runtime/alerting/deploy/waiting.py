"""Polling with a deadline, with the clock and sleep injectable so tests take no time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Poll:
    timeout: float
    interval: float
    clock: Callable[[], float] = field(default=time.monotonic)
    sleep: Callable[[float], None] = field(default=time.sleep)

    def until(self, done: Callable[[], bool]) -> bool:
        """Call `done` until it returns True (-> True) or the deadline passes (-> False)."""
        deadline = self.clock() + self.timeout
        while True:
            if done():
                return True
            if self.clock() >= deadline:
                return False
            self.sleep(self.interval)
