"""Transactional outbox relay: rule_outbox rows -> `rule.changed`, in order, at least once.

A rule change and its outbox row commit together; this relay publishes unpublished rows
and marks them published in one transaction. A crash between the broker's ack and the
mark republishes the rows, which the rule-updater absorbs (it applies the rule's current
state, so replays are harmless). Only one relay publishes at a time (a transaction-level
advisory lock), which keeps rows in order when several rule-service instances run.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from prometheus_client import Counter, Gauge

from alerting import codec
from alerting.adapters.kafka import BatchProducer, OutMessage
from alerting.aio import retry_until_stopped
from alerting.dependency_log import DependencyLog
from alerting.domain.model import ChangedEntity, RuleAction, RuleChange
from alerting.services.rule_service.repo.outbox import CHANNEL

log = logging.getLogger(__name__)

RELAY_LOCK_KEY = 0x6F7574626F78  # "outbox"
BACKLOG = Gauge("alerting_outbox_backlog", "Outbox rows not yet published")
PUBLISHED = Counter("alerting_outbox_published_total", "Outbox rows published to Kafka")


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool[Any],
        producer: BatchProducer,
        topic: str,
        *,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._topic = topic
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        self._producer_started = False

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished rows; return how many were published."""
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", RELAY_LOCK_KEY):
                return 0  # another relay is publishing
            rows = await conn.fetch(
                "SELECT outbox_id, rule_id::text AS rule_id, client_id, action, version, entity,"
                " (extract(epoch FROM created_at) * 1000)::bigint AS at_ms"
                " FROM rule_outbox WHERE published_at IS NULL ORDER BY outbox_id LIMIT $1",
                self._batch_size,
            )
            if not rows:
                return 0
            await self._producer.send_batch(
                [
                    OutMessage(
                        self._topic,
                        r["rule_id"].encode(),
                        codec.encode_rule_change(
                            RuleChange(
                                r["rule_id"],
                                r["client_id"],
                                RuleAction(r["action"]),
                                r["version"],
                                r["at_ms"],
                                ChangedEntity(r["entity"]),
                            )
                        ),
                    )
                    for r in rows
                ]
            )
            await conn.execute(
                "UPDATE rule_outbox SET published_at = now() WHERE outbox_id = ANY($1::bigint[])",
                [r["outbox_id"] for r in rows],
            )
        PUBLISHED.inc(len(rows))
        return len(rows)

    async def backlog(self) -> int:
        count: int = await self._pool.fetchval(
            "SELECT count(*) FROM rule_outbox WHERE published_at IS NULL"
        )
        BACKLOG.set(count)
        return count

    async def check(self) -> None:
        """Readiness: the relay can publish."""
        if not self._producer_started:
            raise RuntimeError("Kafka producer not connected")

    async def run(self, stop: asyncio.Event) -> None:
        """Start the producer (waiting for the broker), then publish until ``stop``."""
        if not await retry_until_stopped(self._producer.start, stop, "outbox relay: Kafka"):
            return
        # LISTEN before answering ready: a rule created the moment the service is ready
        # wakes the relay at once rather than at its next poll.
        listener = await self._listen(stop)
        self._producer_started = True
        state = DependencyLog(log, "outbox relay (Postgres, Kafka)")
        try:
            while not stop.is_set():
                self._wake.clear()  # before publishing: a commit from now on wakes us again
                try:
                    while await self.publish_pending() == self._batch_size:
                        pass
                    await self.backlog()
                except Exception as exc:  # broker or database hiccup: retry on next tick
                    state.failed(exc)
                else:
                    state.ok()
                await self._idle(stop)
        finally:
            if listener is not None:
                await listener.remove_listener(CHANNEL, self._on_notify)
                await self._pool.release(listener)
            await self._producer.stop()
            self._producer_started = False

    async def _idle(self, stop: asyncio.Event) -> None:
        waits = {asyncio.create_task(stop.wait()), asyncio.create_task(self._wake.wait())}
        await asyncio.wait(waits, timeout=self._poll_interval_s, return_when="FIRST_COMPLETED")
        for task in waits:
            task.cancel()

    async def _listen(self, stop: asyncio.Event) -> PoolConnectionProxy[Any] | None:
        """LISTEN so a commit wakes the relay at once; polling stays as the safety net."""
        try:
            conn = await self._pool.acquire()
            await conn.add_listener(CHANNEL, self._on_notify)
            return conn
        except Exception as exc:  # polling alone is correct, just slower
            log.warning("outbox relay: LISTEN failed (%s); polling only", exc)
            return None

    def _on_notify(self, *_: object) -> None:
        self._wake.set()
