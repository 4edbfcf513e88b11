"""How fast the sender may call one destination: the channel's default, an endpoint's
override, and what a target of several endpoints gets. Pure; the token buckets that
enforce it are ``alerting.domain.token_bucket``'s.

Each channel states the rate its receivers document (``Channel.default_rate``); a
channel that states none (webhook, email) gets the sender's ``ALERTING_SENDER_RATE_*``
setting. An endpoint may override either part (``endpoints.rate_per_s`` /
``rate_burst``, NULL = the default): a receiver we cannot know, a webhook behind a
slow proxy, a Slack workspace on a higher tier.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

# The bounds migration 0009 checks on endpoints.rate_per_s and rate_burst (the API's
# validation). The setting may go higher (ALERTING_SENDER_RATE_*: up to 1,000,000).
MAX_RATE_PER_S = 100_000.0
# The API's floor, above the migration's (> 0): one delivery per 100 s at the slowest. A
# rate of 1e-9/s would put each delivery decades after the last (the deferral is the
# refill time), an endpoint that silently never delivers again.
MIN_RATE_PER_S = 0.01
MAX_BURST = 100_000

Number = TypeVar("Number", int, float)


@dataclass(frozen=True, slots=True)
class Rate:
    """A token bucket's shape: ``per_s`` sustained, ``burst`` at once after a pause."""

    per_s: float
    burst: int

    def __post_init__(self) -> None:
        if not self.per_s > 0 or self.burst < 1:
            raise ValueError(f"not a delivery rate: {self.per_s}/s, burst {self.burst}")


def effective(default: Rate, per_s: float | None, burst: int | None) -> Rate:
    """The rate of a destination whose endpoint overrides ``per_s`` and/or ``burst``.

    A lowered rate without a burst gets one second's worth of it (at least 1), not the
    default's burst: an endpoint set to 2/s behind a webhook's default burst of 100
    would otherwise take 100 requests at once, which is what it asked us not to do.
    """
    if per_s is None:
        return default if burst is None else Rate(default.per_s, burst)
    return Rate(per_s, burst if burst is not None else max(1, math.floor(per_s)))


def strictest(values: Iterable[Number | None]) -> Number | None:
    """The lowest override among the endpoints of one target (None: none overrides).
    Endpoints that are one destination in one notification are called once, at the
    tightest limit any of them stated (the sender keys its buckets by destination and
    rate, so other notifications to that URL keep their own rates)."""
    found = [v for v in values if v is not None]
    return min(found) if found else None
