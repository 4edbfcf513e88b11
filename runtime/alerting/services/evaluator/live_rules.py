"""The evaluator's copy of the rule snapshot, kept fresh without pausing consumption.

Only the snapshot key is read: it carries its own version, so one GET is atomic with
respect to the rule-updater's MULTI/EXEC (reading `rules:version` and `rules:snapshot`
with two GETs could pair a new version with an old snapshot and never refresh again).
A new version is noticed from the pub/sub announcement, or by polling the version key
when an announcement is missed (pub/sub is fire-and-forget across reconnects). The new
matcher (the index and its encoded matches) is built in a worker thread and swapped in
with one assignment, so the consume loop always matches against a complete one, old or
new.

Each load, and every second, the evaluator reports the version it holds in the
`evaluators` hash (``alerting.domain.liveness``): that is how rule-service tells a
caller whether a change is live, so the report follows the swap at once.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import secrets
import socket
import time

import redis.asyncio as aioredis
from prometheus_client import Gauge

from alerting import codec
from alerting.adapters.redis import Keys
from alerting.aio import one_line, sleep_unless
from alerting.dependency_log import DependencyLog
from alerting.domain import liveness
from alerting.services.evaluator.matcher import Matcher

log = logging.getLogger(__name__)

RULES_LOADED = Gauge("alerting_evaluator_rules", "Enabled rules in the evaluator's index")
SILENCES_LOADED = Gauge(
    "alerting_evaluator_silences", "Silences (not over) in the evaluator's index"
)
RULES_VERSION = Gauge("alerting_evaluator_rules_version", "Snapshot version being matched")


class LiveRules:
    def __init__(self, client: aioredis.Redis, keys: Keys, poll_interval_s: float = 1.0) -> None:
        self._redis = client
        self._keys = keys
        self._poll_interval_s = poll_interval_s
        self.matcher: Matcher | None = None
        self.version = 0
        self.loaded = asyncio.Event()
        self.instance = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"

    async def refresh(self) -> bool:
        """Load the snapshot if it is newer than ours; True when a new one was swapped in."""
        data = await self._redis.get(self._keys.snapshot)
        if not isinstance(data, bytes):
            return False
        snapshot = await asyncio.to_thread(codec.decode_snapshot, data)
        # Equality is the whole test, so a rebuilt snapshot must never reuse a version we
        # may hold: after Redis loses its data the rule-updater starts above every version
        # written before (services/rule_updater/store.py). != rather than <: a snapshot
        # with a smaller number (a Redis restored from an old dump) is still the truth.
        if self.matcher is not None and snapshot.version == self.version:
            return False
        started = time.perf_counter()
        matcher = await asyncio.to_thread(Matcher, snapshot.rules, snapshot.silences)
        self.matcher, self.version = matcher, snapshot.version
        # The matcher is a million long-lived objects at 100,000 rules, and every batch
        # promotes its short-lived ones into the oldest generation, so full collections
        # are frequent: frozen, the index is never walked by them, and it is still freed
        # by reference counting when a newer matcher replaces it (it holds no cycles).
        gc.freeze()
        RULES_LOADED.set(len(matcher))
        SILENCES_LOADED.set(len(matcher.silences))
        RULES_VERSION.set(snapshot.version)
        self.loaded.set()
        await self._report_quietly()
        log.info(
            "rules version %d loaded: %d rules, %d silences in %.0f ms",
            snapshot.version,
            len(matcher),
            len(matcher.silences),
            (time.perf_counter() - started) * 1000,
        )
        return True

    async def report(self) -> None:
        """Write this evaluator's heartbeat: the version it holds, and now by Redis' clock
        (rule-service judges its age by that clock too: no host's clock has to agree)."""
        if self.matcher is None:
            return
        await self._redis.eval(
            liveness.HEARTBEAT_SCRIPT, 1, self._keys.evaluators, self.instance, self.version
        )

    async def _report_quietly(self) -> None:
        try:
            await self.report()
        except Exception as exc:  # the heartbeat loop reports it again within a second
            log.debug("reporting the loaded version: %s", one_line(exc))

    async def heartbeat(self, stop: asyncio.Event) -> None:
        """Report every second until stopped; then leave the hash, so a clean stop does
        not hold changes back for the heartbeat's time to live."""
        state = DependencyLog(log, "reporting the loaded rules version (Redis)")
        interval_s = liveness.HEARTBEAT_INTERVAL_MS / 1000
        while not await sleep_unless(stop, interval_s):
            try:
                await self.report()
            except Exception as exc:  # Redis away: rule-service sees no evaluator, says so
                state.failed(exc)
            else:
                state.ok()
        try:
            await self._redis.hdel(self._keys.evaluators, self.instance)
        except Exception as exc:  # its heartbeat then expires on its own
            log.debug("leaving the evaluators hash: %s", one_line(exc))

    async def _redis_version(self) -> int:
        raw = await self._redis.get(self._keys.version)
        return int(raw) if raw is not None else 0

    async def wait_loaded(self, stop: asyncio.Event) -> bool:
        """Warm start: wait (never give up) for a snapshot; False if stopped first."""
        waited = False
        state = DependencyLog(log, "loading the rule snapshot (Redis)")
        while not stop.is_set():
            try:
                loaded = await self.refresh() or self.matcher is not None
            except Exception as exc:  # Redis down or a corrupt snapshot: keep waiting
                state.failed(exc)
            else:
                state.ok()
                if loaded:
                    return True
                if not waited:
                    log.warning("no rule snapshot in Redis yet (is rule-updater running?)")
                    waited = True
            await sleep_unless(stop, self._poll_interval_s)
        return False

    async def follow(self, stop: asyncio.Event) -> None:
        """Refresh on every announced version, polling as the fallback, until stopped."""
        state = DependencyLog(log, "following rule changes (Redis)")
        while not stop.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._keys.version_channel)
                await self._catch_up()
                state.ok()
                while not stop.is_set():
                    message = await pubsub.get_message(timeout=self._poll_interval_s)
                    if message is not None or await self._redis_version() != self.version:
                        await self.refresh()
            except Exception as exc:  # never let a Redis hiccup stop matching
                state.failed(exc)
                await sleep_unless(stop, self._poll_interval_s)
            finally:
                try:
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                except Exception as exc:  # the connection may already be gone
                    log.debug("closing pubsub: %s", one_line(exc))

    async def _catch_up(self) -> None:
        if await self._redis_version() != self.version:
            await self.refresh()

    async def check(self) -> None:
        """Readiness: matching needs a loaded index."""
        if self.matcher is None:
            raise RuntimeError("rule snapshot not loaded yet")
