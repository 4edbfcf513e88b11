"""Rate limiting by token bucket over an injected clock (tests use a fake one): the
sender's per-endpoint pacing and ingest's alerts per second per key."""

from __future__ import annotations

from collections.abc import Callable, Hashable


class TokenBucket:
    """``burst`` tokens at most, refilled at ``rate_per_s``; ``reserve`` costs one token,
    ``take`` as many as the caller says, ``refund`` gives some back."""

    __slots__ = ("_clock", "_last", "_tokens", "burst", "rate_per_s")

    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float]) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def retune(self, rate_per_s: float, burst: int) -> None:
        """Change the shape in place (an endpoint's rate was edited): tokens earned at
        the old rate are kept, up to the new burst, so an edit neither grants a fresh
        burst nor makes a caller wait for tokens it already had."""
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self._refill()
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._tokens = min(self._tokens, float(burst))

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate_per_s)
        self._last = now

    def reserve(self, max_wait_s: float = 0.0) -> float | None:
        """Reserve the next token: the seconds to wait before using it (0.0 when one is
        here), or None when that would exceed ``max_wait_s`` (nothing reserved; the caller
        defers, see ``wait_s``). Reservations may run the bucket below zero, so callers
        that wait are spread over time instead of all firing when a token appears."""
        wait = self.wait_s()
        if wait > max_wait_s:
            return None
        self._tokens -= 1.0
        return wait

    def take(self, cost: float) -> float:
        """Take ``cost`` tokens at once if they are all here (0.0), or take nothing and
        answer the seconds until they would be: a batch is admitted whole or not at all,
        and the answer is what a Retry-After should say. A cost above ``burst`` could
        never fit; the caller must bound it (ValueError)."""
        if not 0 < cost <= self.burst:
            raise ValueError(f"cost {cost} must be in (0, burst={self.burst}]")
        self._refill()
        if self._tokens >= cost:
            self._tokens -= cost
            return 0.0
        return (cost - self._tokens) / self.rate_per_s

    def refund(self, cost: float) -> None:
        """Give back ``cost`` tokens taken for work that did not happen (a batch the
        broker did not accept), never beyond ``burst``: a refund restores what was
        taken, it is no credit for later."""
        self._refill()
        self._tokens = min(float(self.burst), self._tokens + cost)

    def wait_s(self) -> float:
        """Seconds until a token would be free for a new reservation."""
        self._refill()
        return max(0.0, (1.0 - self._tokens) / self.rate_per_s)

    @property
    def full(self) -> bool:
        self._refill()
        return self._tokens >= self.burst


class RateLimiter:
    """One bucket per key, created on first use; idle (full) buckets are dropped once the
    table grows past ``max_keys``, so memory stays bounded however many keys (endpoints,
    API keys) exist: beyond ``max_keys`` only the buckets still refilling are kept."""

    def __init__(
        self, rate_per_s: float, burst: int, clock: Callable[[], float], max_keys: int = 10_000
    ) -> None:
        self._rate = rate_per_s
        self._burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[Hashable, TokenBucket] = {}

    def bucket(
        self, key: Hashable, rate_per_s: float | None = None, burst: int | None = None
    ) -> TokenBucket:
        """``key``'s bucket, at ``rate_per_s``/``burst`` when given (a key with a rate of
        its own: the sender's per-channel and per-endpoint rates), else the limiter's."""
        rate = self._rate if rate_per_s is None else rate_per_s
        size = self._burst if burst is None else burst
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._buckets = {k: b for k, b in self._buckets.items() if not b.full}
            bucket = self._buckets[key] = TokenBucket(rate, size, self._clock)
        elif (bucket.rate_per_s, bucket.burst) != (rate, size):
            bucket.retune(rate, size)
        return bucket

    def __len__(self) -> int:
        return len(self._buckets)
