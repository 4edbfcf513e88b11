"""`alerting rule-updater`: rule.changed -> Redis `rules:snapshot` + `rules:version`."""

from __future__ import annotations

import asyncio
import logging

from alerting import codec
from alerting.adapters import postgres
from alerting.adapters import redis as redis_adapter
from alerting.adapters.kafka import BatchProducer
from alerting.aio import retry_until_stopped, sleep_unless
from alerting.config import Settings
from alerting.dependency_log import DependencyLog
from alerting.services.entry import service_command
from alerting.services.rule_updater.store import SnapshotStore
from alerting.services.rule_updater.updater import SnapshotUpdater
from alerting.services.stage import Stage, connect_pool, run_stage

log = logging.getLogger("alerting.rule_updater")
NAME = "rule-updater"


async def _reconcile_periodically(
    updater: SnapshotUpdater, interval_s: float, stop: asyncio.Event
) -> None:
    state = DependencyLog(log, "periodic reconcile (Postgres, Redis)")
    while not await sleep_unless(stop, interval_s):
        try:
            await updater.reconcile()
        except Exception as exc:  # tried again at the next interval
            state.failed(exc)
        else:
            state.ok()


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
        # Changes are applied as Postgres says now, so reading one twice (another
        # updater's, or one before the last commit) is harmless: no group join, which
        # held the first rule after a start back by seconds (docs/liveness.md).
        join_group=False,
    )
    try:
        # The producer only writes dead letters here.
        await run_stage(settings, stop, BatchProducer(settings.kafka), stage)
    finally:
        await client.aclose()
        await pool.close()


configure, run = service_command(NAME, main)
