"""`alerting aggregator`: alerts.matched -> notifications (deduplicated) -> notifications.ready.

Per batch: one INSERT ... ON CONFLICT per round (usually one; ``store``), then one
produce of every notification that is new and PENDING or still undelivered, then the
consume loop commits. A crash anywhere before the commit re-reads the batch; the INSERT
absorbs the duplicates and the redelivered rows are announced again, so nothing is lost
and nothing is stored twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import asyncpg
from prometheus_client import Counter

from alerting import codec, failpoints
from alerting.adapters import postgres
from alerting.adapters.kafka import BatchProducer, OutMessage, Record
from alerting.adapters.kafka.consumer import Rejected
from alerting.config import Settings
from alerting.domain.model import AlertMatch, NotificationReady
from alerting.services.aggregator import store
from alerting.services.aggregator.validation import unstorable
from alerting.services.entry import service_command
from alerting.services.stage import Stage, connect_pool, run_stage

log = logging.getLogger("alerting.aggregator")
NAME = "aggregator"

CREATED = Counter("alerting_aggregator_notifications_created_total", "New notifications stored")
ORPHANED = Counter(
    "alerting_aggregator_resolved_without_episode_total",
    "Resolved alerts that found no open episode (a repeat, or one that came before its"
    " firing) and made no notification",
)
REANNOUNCED = Counter(
    "alerting_aggregator_notifications_reannounced_total",
    "Redelivered matches whose undelivered notification was announced again",
)


class Aggregator:
    def __init__(self, pool: asyncpg.Pool[Any], producer: BatchProducer, topic: str) -> None:
        self._pool = pool
        self._producer = producer
        self._topic = topic

    async def handle(self, records: list[Record[AlertMatch]]) -> Sequence[Rejected]:
        rejected: list[Rejected] = []
        good: list[AlertMatch] = []
        for record in records:
            reason = unstorable(record.value)
            if reason is None:
                good.append(record.value)
            else:
                rejected.append(Rejected(record, reason))
        if not good:
            return rejected
        stored = await store.upsert(self._pool, good)
        failpoints.hit("aggregator.after_insert")
        await self._producer.send_batch(
            [
                OutMessage(
                    self._topic,
                    p.client_id.encode(),
                    codec.encode_notification_ready(
                        NotificationReady(p.notification_id, p.client_id, p.alert_id)
                    ),
                )
                for p in stored.pending
            ]
        )
        CREATED.inc(stored.created)
        REANNOUNCED.inc(sum(not p.created for p in stored.pending))
        ORPHANED.inc(stored.orphaned)
        return rejected


async def main(settings: Settings, stop: asyncio.Event) -> None:
    pool = await connect_pool(settings, stop)
    if pool is None:
        return
    producer = BatchProducer(settings.kafka)
    stage = Stage(
        name=NAME,
        topic=settings.topics.alerts_matched,
        decode=codec.decode_match,
        handle=Aggregator(pool, producer, settings.topics.notifications_ready).handle,
        checks={"postgres": postgres.readiness(pool)},
        batch_size=settings.kafka.aggregator_batch_size,
    )
    try:
        await run_stage(settings, stop, producer, stage)
    finally:
        await pool.close()


configure, run = service_command(NAME, main)
