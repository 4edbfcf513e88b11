"""Alerts per second per ingest key (``ALERTING_QUOTA_INGEST_*``, docs/quotas.md).

One token bucket per ingest key, in this process: a batch of N alerts costs N tokens
and is admitted whole or refused whole (429, nothing published), with a Retry-After
saying when it would fit. A batch admitted but then not accepted by the broker (503)
gets its tokens back, so retrying through an outage costs no rate. The limit is per
process, so N ingest replicas behind a load balancer admit up to N times the rate;
sharing the buckets (Redis) would put a round trip on every post, for a limit that
exists to stop a runaway sender rather than to meter one exactly.

The admin token is not limited: the benchmark and ``alerting loadgen`` use it, and
an operator is not the runaway upstream system a quota protects against.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from alerting.config import QuotaSettings
from alerting.domain.token_bucket import RateLimiter
from alerting.services.ingest.publish import REJECTED
from alerting.web import problems
from alerting.web.auth import Principal

QUOTA = "ingest_alerts_per_s"
# Keys are issued by admins and live in Postgres, so the buckets are as many as the
# active ingest keys; past this many, only buckets still refilling are kept (a full one
# is the same as a new one), so even a key table far larger stays bounded in memory.
MAX_TRACKED_KEYS = 10_000


class KeyRateLimit:
    def __init__(
        self,
        rate_per_s: int,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_TRACKED_KEYS,
    ) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._limiter = RateLimiter(rate_per_s, burst, clock, max_keys)

    @classmethod
    def for_settings(cls, quotas: QuotaSettings) -> KeyRateLimit:
        return cls(quotas.ingest_alerts_per_s, quotas.ingest_burst)

    def admit(self, caller: Principal, count: int) -> None:
        """Take ``count`` alerts from the caller's bucket, or raise the 429."""
        if caller.kind == "admin" or caller.key_id is None:
            return
        wait_s = self._limiter.bucket(caller.key_id).take(count)
        if wait_s <= 0:
            return
        REJECTED.labels("rate_limited").inc(count)
        raise problems.too_many_requests(
            f"this ingest key may post {self.rate_per_s} alerts/s (bursts of {self.burst});"
            f" these {count} alerts were NOT accepted and fit again in"
            f" {problems.retry_after(wait_s)} s",
            wait_s,
            kind="rate-limited",
            extra={"quota": QUOTA, "limit": self.rate_per_s, "burst": self.burst},
        )

    def refund(self, caller: Principal, count: int) -> None:
        """Give back what ``admit`` took for alerts that were then not accepted (the
        broker was down: 503). Without it, a client retrying through an outage would
        drain its bucket with batches never accepted and get 429 once the broker is
        back. Capped at the burst (the bucket may have refilled meanwhile)."""
        if caller.kind == "admin" or caller.key_id is None:
            return
        self._limiter.bucket(caller.key_id).refund(count)

    def __len__(self) -> int:
        return len(self._limiter)
