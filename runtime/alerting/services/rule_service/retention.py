"""Retention: notifications older than ``ALERTING_RETENTION_DAYS`` are removed.

A loop of rule-service, next to the client purge and the silence release (same shape:
a pass, then a sleep; a database outage is one log line per state change). A pass takes
the settled notifications created before ``now - days`` (their deliveries and delivery
attempts by cascade), then the published ``rule_outbox`` rows as old, in batches of
``batch_size`` rows, each its own short transaction (``repo/retention.py``), with a
pause between batches so the pipeline's own writes are never queued behind a long run
of deletes. Rows still in flight or due (PENDING, SENDING, RETRY; a SUPPRESSED firing
row its silence may still release; a firing row whose resolved row is still to deliver)
are kept, however old: they go on a later pass once settled. So is an open episode (a
firing row without its resolved row: the alert still fires), until its resolved comes.
Notification groups closed before the cutoff go too, with their digests; an open group
never does.
Several rule-service
replicas may run it at once: each batch skips the rows another one holds.

The clock is injected: a pass decides with the ``now`` it is given, so tests move time
forward instead of waiting for days. Docs: docs/operations.md, "Retention".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from prometheus_client import Counter, Gauge

from alerting.aio import run_every, sleep_unless
from alerting.services.rule_service.repo import retention as repo

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
# The pause between two batches of a pass: a pass over a day's worth of a busy
# platform's rows (a million: a thousand batches) takes minutes instead of holding the
# table's writers for one long burst.
PAUSE_S = 0.1
# Between passes. A pass that finds nothing costs one index probe per table.
INTERVAL_S = 600.0

REMOVED = Counter(
    "alerting_retention_removed_total",
    "Rows removed by retention, by table (deliveries and delivery_attempts go with"
    " their notification)",
    ["table"],
)
BATCHES = Counter(
    "alerting_retention_batches_total",
    "Retention batches run (one short transaction each), by table",
    ["table"],
)
LAST_RUN = Gauge(
    "alerting_retention_last_run_timestamp_seconds",
    "When the last retention pass ended without error (unix seconds)",
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def cutoff(now: datetime, days: int) -> datetime:
    """Rows created before this instant are past the retention."""
    return now - timedelta(days=days)


@dataclass
class Removed:
    """What one pass removed; ``batch_rows``: notifications removed per batch."""

    notifications: int = 0
    deliveries: int = 0
    delivery_attempts: int = 0
    rule_outbox: int = 0
    notification_groups: int = 0
    notification_digests: int = 0
    batch_rows: list[int] = field(default_factory=list)


class Retention:
    def __init__(
        self,
        pool: asyncpg.Pool[Any],
        days: int,
        *,
        batch_size: int = BATCH_SIZE,
        pause_s: float = PAUSE_S,
        interval_s: float = INTERVAL_S,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._pool = pool
        self._days = days
        self._batch_size = batch_size
        self._pause_s = pause_s
        self._interval_s = interval_s
        self._clock = clock

    async def run_pass(self, stop: asyncio.Event | None = None) -> Removed:
        """One pass over both tables, up to the cutoff of this pass's ``now``; ``stop``
        ends it after the batch under way."""
        before = cutoff(self._clock(), self._days)
        done = Removed()
        await self._notifications(before, done, stop)
        await self._groups(before, done, stop)
        await self._outbox(before, done, stop)
        LAST_RUN.set(time.time())
        if done.notifications or done.rule_outbox or done.notification_groups:
            log.info(
                "retention: removed %d notifications (%d deliveries, %d delivery attempts)"
                " and %d rule_outbox rows created before %s, in %d batches, and %d groups"
                " (%d digests) closed before it",
                done.notifications, done.deliveries, done.delivery_attempts,
                done.rule_outbox, before.isoformat(), len(done.batch_rows),
                done.notification_groups, done.notification_digests,
            )  # fmt: skip
        return done

    async def _notifications(
        self, before: datetime, done: Removed, stop: asyncio.Event | None
    ) -> None:
        after = (datetime.min.replace(tzinfo=UTC), repo.FIRST_ID)
        while True:
            async with self._pool.acquire() as conn, conn.transaction():
                batch = await repo.delete_notifications(conn, after, before, self._batch_size)
            BATCHES.labels("notifications").inc()
            self._count(done, batch)
            # Fewer rows than asked: none is left before the cutoff but rows kept or held
            # by another writer (SKIP LOCKED), which the next pass looks at again.
            if batch.cursor is None or batch.locked < self._batch_size:
                return
            after = batch.cursor
            if await self._pause(stop):
                return

    async def _groups(self, before: datetime, done: Removed, stop: asyncio.Event | None) -> None:
        while True:
            async with self._pool.acquire() as conn, conn.transaction():
                batch = await repo.delete_groups(conn, before, self._batch_size)
            BATCHES.labels("notification_groups").inc()
            REMOVED.labels("notification_groups").inc(batch.groups)
            REMOVED.labels("notification_digests").inc(batch.digests)
            done.notification_groups += batch.groups
            done.notification_digests += batch.digests
            if batch.groups < self._batch_size or await self._pause(stop):
                return

    async def _outbox(self, before: datetime, done: Removed, stop: asyncio.Event | None) -> None:
        after_id = 0
        while True:
            async with self._pool.acquire() as conn, conn.transaction():
                batch = await repo.delete_outbox(conn, after_id, before, self._batch_size)
            BATCHES.labels("rule_outbox").inc()
            REMOVED.labels("rule_outbox").inc(batch.removed)
            done.rule_outbox += batch.removed
            if batch.done or batch.last_id is None:
                return
            after_id = batch.last_id
            if await self._pause(stop):
                return

    def _count(self, done: Removed, batch: repo.NotificationBatch) -> None:
        done.batch_rows.append(batch.notifications)
        done.notifications += batch.notifications
        done.deliveries += batch.deliveries
        done.delivery_attempts += batch.delivery_attempts
        REMOVED.labels("notifications").inc(batch.notifications)
        REMOVED.labels("deliveries").inc(batch.deliveries)
        REMOVED.labels("delivery_attempts").inc(batch.delivery_attempts)

    async def _pause(self, stop: asyncio.Event | None) -> bool:
        """Sleep between batches; True when ``stop`` was set (the pass ends)."""
        if stop is None:
            await asyncio.sleep(self._pause_s)
            return False
        return await sleep_unless(stop, self._pause_s)

    async def run(self, stop: asyncio.Event) -> None:
        """A pass every ``interval_s`` until ``stop``; an unreachable database is one
        log line per state change, and the next pass starts over from the oldest row."""
        await run_every(
            lambda: self.run_pass(stop),
            stop,
            self._interval_s,
            "removing notifications past the retention (Postgres)",
            log,
        )
