"""Named crash points for crash-safety tests.

A crash test must be able to kill a service at the one instant that matters (the
aggregator between its INSERT and its publish), which a timer-driven SIGKILL hits only
by luck. ``ALERTING_FAILPOINT=<name>:<n>`` makes the n-th pass through ``hit(name)``
SIGKILL the process itself: no cleanup, exactly like an OOM kill. Unset (the default
and production), ``hit`` is one dictionary look-up.
"""

from __future__ import annotations

import os
import signal

from alerting.config import ConfigError

_armed: dict[str, int] = {}


def arm(spec: str) -> None:
    """Parse ``name:n`` (n >= 1); an empty spec disarms."""
    _armed.clear()
    if not spec.strip():
        return
    name, _, count = spec.strip().rpartition(":")
    if not name or not count.isdigit() or int(count) < 1:
        raise ConfigError(f"ALERTING_FAILPOINT={spec!r} must be <name>:<n> with n >= 1")
    _armed[name] = int(count)


def hit(name: str) -> None:
    remaining = _armed.get(name)
    if remaining is None:
        return
    if remaining > 1:
        _armed[name] = remaining - 1
        return
    os.kill(os.getpid(), signal.SIGKILL)
