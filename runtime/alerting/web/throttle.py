"""Failed authentications counted per key (a source address, an API key prefix), pure.

Each key has a token bucket of ``failures`` tokens refilled over ``window_s``: a failed
authentication takes a token, and a key without one is *blocked* until the next token
is due. So a caller gets ``failures`` wrong guesses at once and then one per
``window_s / failures`` seconds, however hard it pushes; a blocked attempt takes no
token (a blocked source is refused before anything is verified; a wrong secret with a
blocked prefix is answered 429 uncounted), so it does not extend the block.

The table also keeps what the log needs: ``failed`` says whether it was the key's first
failure, and a ``Report`` says how many failures and blocked attempts a key saw since
its last one, handed out at most once per ``report_every_s``. Reports are produced when
the key is next touched or evicted, not by a timer: the table has no task of its own.

Memory is bounded: at most ``max_entries`` keys, least recently touched evicted first.
An attacker rotating addresses therefore cannot grow it, only push out old entries
(its own included); an entry with counts not yet reported is reported as it goes.
The clock is injected (tests use a fake one); nothing here does I/O.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from alerting.domain.token_bucket import TokenBucket

MAX_ENTRIES = 10_000  # per table; about 2 MB


@dataclass(frozen=True, slots=True)
class FailureLimit:
    failures: int  # failed authentications allowed per window before blocking; 0: never block
    window_s: float

    def __post_init__(self) -> None:
        if self.failures < 0 or self.window_s <= 0:
            raise ValueError("need failures >= 0 and window_s > 0")


@dataclass(frozen=True, slots=True)
class Report:
    """How many failures and blocked attempts one key saw over the last ``span_s``
    seconds."""

    key: str
    failed: int
    blocked: int
    span_s: float


class _Entry:
    __slots__ = ("blocked", "bucket", "failed", "reported_at")

    def __init__(self, bucket: TokenBucket | None, now: float) -> None:
        self.bucket = bucket
        self.failed = 0  # since the last report
        self.blocked = 0
        self.reported_at = now


class FailureTable:
    def __init__(
        self,
        limit: FailureLimit,
        clock: Callable[[], float],
        report: Callable[[Report], None],
        *,
        report_every_s: float,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self._limit = limit
        self._clock = clock
        self._report = report
        self._report_every_s = report_every_s
        self._max_entries = max_entries
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def blocked_for(self, key: str) -> float:
        """Seconds until ``key`` may try again (0.0: it may now). A blocked attempt is
        counted for the log."""
        entry = self._entries.get(key)
        if entry is None or entry.bucket is None:
            return 0.0
        self._entries.move_to_end(key)
        wait = entry.bucket.wait_s()
        if wait > 0:
            entry.blocked += 1
            self._maybe_summarise(key, entry)
        return wait

    def failed(self, key: str) -> bool:
        """Count a failed authentication of ``key``; True when it is the key's first
        (as far as the table remembers), which no report will include."""
        entry = self._entries.get(key)
        first = entry is None
        if entry is None:
            entry = self._add(key)
        else:
            self._entries.move_to_end(key)
            entry.failed += 1
            self._maybe_summarise(key, entry)
        if entry.bucket is not None:
            entry.bucket.reserve(max_wait_s=float("inf"))
        return first

    def __len__(self) -> int:
        return len(self._entries)

    def _add(self, key: str) -> _Entry:
        limit = self._limit
        bucket = (
            TokenBucket(limit.failures / limit.window_s, limit.failures, self._clock)
            if limit.failures
            else None
        )
        entry = self._entries[key] = _Entry(bucket, self._clock())
        while len(self._entries) > self._max_entries:
            old_key, old = self._entries.popitem(last=False)
            self._summarise(old_key, old)
        return entry

    def _maybe_summarise(self, key: str, entry: _Entry) -> None:
        if self._clock() - entry.reported_at >= self._report_every_s:
            self._summarise(key, entry)

    def _summarise(self, key: str, entry: _Entry) -> None:
        now = self._clock()
        if entry.failed or entry.blocked:
            span = now - entry.reported_at
            self._report(Report(key, entry.failed, entry.blocked, span))
        entry.failed = entry.blocked = 0
        entry.reported_at = now
