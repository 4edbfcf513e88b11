"""A key store that keeps answering while the store behind it cannot: a bounded,
expiring cache of the keys that store returned.

Why: ingest takes alerts from upstream systems that hold ingest keys, and alert intake
must not stop because Postgres did. The trade-off is a bounded delay on revocations,
documented in docs/ingest.md:

* an entry younger than ``refresh_s`` is used as it is, so a revocation (or deletion)
  is seen within ``refresh_s`` while the store answers;
* an older entry is looked up again before it is used. When the store cannot answer
  (one of ``unavailable``, or no answer within ``patience_s``), the entry is used as
  long as the store's last answer about it is at most ``max_stale_s`` old. A key
  revoked during an outage therefore works until the store answers again (plus up to
  ``refresh_s``) or until ``max_stale_s``, whichever comes first; after that a key
  holder gets whatever the API answers for an unverifiable key (ingest: 503);
* after a failure the store is left alone for ``RETRY_S`` (cached keys are used
  without asking), so an outage costs one failed lookup a second, not one per request;
* unknown prefixes are not cached: they take no room (so guessed prefixes cannot push
  real keys out), a key issued a moment ago is found at once, and throttling failed
  attempts is the authenticator's business, not the cache's;
* concurrent lookups of one prefix share one store call.

Only what the store returns is held (the token's digest, scope, client, revoked, an
ingest key's label mapping, so a changed mapping too applies within ``refresh_s``),
never a token: the bearer backend still verifies every request's secret against the
digest. Memory is bounded by ``max_keys`` entries, least recently used evicted first.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from uuid import UUID

from alerting.web.key_store import KeyStore, StoredKey

log = logging.getLogger(__name__)

MAX_KEYS = 10_000  # about 3 MB; far more keys than one deployment issues
# How long a request waits for a store that does not answer (an unreachable server
# holds a connection attempt for a minute) before a cached entry is used instead.
PATIENCE_S = 2.0
RETRY_S = 1.0  # after a failure, how long cached entries are used without asking


@dataclass(frozen=True, slots=True)
class _Entry:
    key: StoredKey
    asked_at: float  # when the store was asked: the answer is at least this fresh


class CachedKeyStore:
    """A ``KeyStore`` over another one; see the module docstring for the rules."""

    def __init__(
        self,
        store: KeyStore,
        *,
        refresh_s: float,
        max_stale_s: float,
        unavailable: tuple[type[Exception], ...],
        max_keys: int = MAX_KEYS,
        patience_s: float = PATIENCE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 <= refresh_s <= max_stale_s:
            raise ValueError(f"need 0 <= refresh ({refresh_s}) <= max staleness ({max_stale_s})")
        self._store = store
        self._refresh_s = refresh_s
        self._max_stale_s = max_stale_s
        # The store's "I cannot answer"; our own patience running out is one too.
        self._unavailable: tuple[type[Exception], ...] = (*unavailable, TimeoutError)
        self._max_keys = max_keys
        self._patience_s = patience_s
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lookups: dict[str, asyncio.Future[StoredKey | None]] = {}
        self._quiet_until = -math.inf  # until then, cached entries are used unasked
        self._down = False  # so an outage logs one line when it starts and one when it ends

    async def find(self, prefix: str) -> StoredKey | None:
        entry = self._entries.get(prefix)
        if entry is None:  # nothing to fall back on: wait for the store, however it ends
            return await asyncio.shield(self._lookup(prefix))
        self._entries.move_to_end(prefix)
        age = self._clock() - entry.asked_at
        if age < self._refresh_s:
            return entry.key
        if age <= self._max_stale_s and self._clock() < self._quiet_until:
            return entry.key
        try:
            async with asyncio.timeout(self._patience_s):
                return await asyncio.shield(self._lookup(prefix))
        except self._unavailable as exc:
            self._failed(exc)  # a timeout is ours: the lookup itself goes on
            if self._clock() - entry.asked_at <= self._max_stale_s:
                return entry.key
            raise

    async def touch(self, key_id: UUID) -> None:
        """The store's ``touch``, best effort: ``last_used_at`` is not worth failing or
        slowing a request whose key was verified, so an outage skips it."""
        if self._clock() < self._quiet_until:
            return
        try:
            async with asyncio.timeout(self._patience_s):
                await self._store.touch(key_id)
        except self._unavailable as exc:
            self._failed(exc)

    def _lookup(self, prefix: str) -> asyncio.Future[StoredKey | None]:
        """The store's answer about ``prefix``: the lookup in flight, or a new one. It
        runs as its own task so a caller that gives up does not cancel it for others."""
        pending = self._lookups.get(prefix)
        if pending is None:
            pending = asyncio.ensure_future(self._ask(prefix))
            self._lookups[prefix] = pending
            pending.add_done_callback(partial(self._lookup_done, prefix))
        return pending

    def _lookup_done(self, prefix: str, lookup: asyncio.Future[StoredKey | None]) -> None:
        del self._lookups[prefix]
        if not lookup.cancelled():
            lookup.exception()  # retrieved: every caller may have given up waiting

    async def _ask(self, prefix: str) -> StoredKey | None:
        asked_at = self._clock()
        try:
            key = await self._store.find(prefix)
        except self._unavailable as exc:
            self._failed(exc)
            raise
        if self._down:
            self._down = False
            log.info("the API key store answers again")
        if key is None:
            self._entries.pop(prefix, None)
            return None
        self._entries[prefix] = _Entry(key, asked_at)
        self._entries.move_to_end(prefix)
        if len(self._entries) > self._max_keys:
            self._entries.popitem(last=False)
        return key

    def _failed(self, exc: Exception) -> None:
        self._quiet_until = self._clock() + RETRY_S
        if not self._down:
            self._down = True
            log.warning(
                "the API key store cannot answer (%s); keys it answered for in the last"
                " %g s keep working",
                type(exc).__name__,
                self._max_stale_s,
            )
