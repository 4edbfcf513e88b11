"""`alerting rule-updater`: rule.changed -> Redis `rules:snapshot` + `rules:version`."""

from __future__ import annotations

import argparse
import asyncio
import logging

from alerting import codec, config
from alerting.adapters import postgres
from alerting.adapters import redis as redis_adapter
from alerting.adapters.kafka import BatchProducer, ConsumeLoop
from alerting.aio import retry_until_stopped, sleep_unless
from alerting.config import Settings
from alerting.http import health_app, serve
from alerting.runner import run_service
from alerting.services.rule_updater.store import SnapshotStore
from alerting.services.rule_updater.updater import SnapshotUpdater

log = logging.getLogger("alerting.rule_updater")
NAME = "rule-updater"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = config.describe(
        (
            *config.KAFKA_VARS,
            "ALERTING_CONSUMER_GROUP",
            "ALERTING_BATCH_SIZE",
            *config.POSTGRES_VARS,
            *config.REDIS_VARS,
            "ALERTING_RECONCILE_INTERVAL_S",
            "ALERTING_HTTP_HOST",
            "ALERTING_RULE_UPDATER_PORT",
            *config.LOG_VARS,
        )
    )


async def _reconcile_periodically(
    updater: SnapshotUpdater, interval_s: float, stop: asyncio.Event
) -> None:
    while not await sleep_unless(stop, interval_s):
        try:
            await updater.reconcile()
        except Exception:
            log.exception("periodic reconcile failed; will retry")


async def main(settings: Settings, stop: asyncio.Event) -> None:
    pool = await postgres.create_pool(settings)
    client = redis_adapter.create_client(settings)
    keys = redis_adapter.keys(settings)
    updater = SnapshotUpdater(pool, SnapshotStore(client, keys), keys)
    producer = BatchProducer(settings.kafka)  # for the dead-letter topic
    loop = ConsumeLoop(
        kafka=settings.kafka,
        topics=[settings.topics.rule_changed],
        group_id=settings.group_id(NAME),
        decode=codec.decode_rule_change,
        handle=updater.handle,
        producer=producer,
        service=NAME,
    )

    async def redis_ping() -> None:
        await client.ping()

    app = health_app(
        {
            "postgres": postgres.readiness(pool),
            "redis": redis_ping,
            "kafka": loop.check,
            "snapshot": updater.check,
        }
    )

    async def work() -> None:
        if not await retry_until_stopped(updater.reconcile, stop, "initial reconcile"):
            return
        if not await retry_until_stopped(producer.start, stop, "Kafka producer"):
            return
        try:
            await asyncio.gather(
                loop.run(stop),
                _reconcile_periodically(updater, settings.reconcile_interval_s, stop),
            )
        finally:
            await producer.stop()

    try:
        await asyncio.gather(serve(app, settings.http_host, settings.port(NAME), stop), work())
    finally:
        await client.aclose()
        await pool.close()


def run(args: argparse.Namespace) -> int:
    return run_service(NAME, main)
