"""`alerting rule-updater`: rule.changed -> Redis `rules:snapshot` + `rules:version`."""

from __future__ import annotations

import argparse
import asyncio
import logging

from alerting import codec, config
from alerting.adapters import postgres
from alerting.adapters import redis as redis_adapter
from alerting.adapters.kafka import BatchProducer
from alerting.aio import retry_until_stopped, sleep_unless
from alerting.config import Settings
from alerting.runner import run_service
from alerting.services.rule_updater.store import SnapshotStore
from alerting.services.rule_updater.updater import SnapshotUpdater
from alerting.services.stage import Stage, connect_pool, run_stage

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
    pool = await connect_pool(settings, stop)
    if pool is None:
        return
    client = redis_adapter.create_client(settings)
    keys = redis_adapter.keys(settings)
    updater = SnapshotUpdater(pool, SnapshotStore(client, keys), keys)

    async def redis_ping() -> None:
        await client.ping()

    async def first_reconcile(stop: asyncio.Event) -> bool:
        return await retry_until_stopped(updater.reconcile, stop, "initial reconcile")

    async def reconcile_periodically(stop: asyncio.Event) -> None:
        await _reconcile_periodically(updater, settings.reconcile_interval_s, stop)

    stage = Stage(
        name=NAME,
        topic=settings.topics.rule_changed,
        decode=codec.decode_rule_change,
        handle=updater.handle,
        checks={
            "postgres": postgres.readiness(pool),
            "redis": redis_ping,
            "snapshot": updater.check,
        },
        before_consuming=first_reconcile,
        beside=[reconcile_periodically],
    )
    try:
        # The producer only writes dead letters here.
        await run_stage(settings, stop, BatchProducer(settings.kafka), stage)
    finally:
        await client.aclose()
        await pool.close()


def run(args: argparse.Namespace) -> int:
    return run_service(NAME, main)
