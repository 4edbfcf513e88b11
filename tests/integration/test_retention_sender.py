"""Retention runs beside a delivering pipeline (issue 16, item 2): a real sender
delivers a stream of new notifications to a local receiver while the retention loop
removes a large old history in small batches. Every new notification still reaches
SENT and is delivered once, and none of them is removed. And the rule-service process
runs the loop itself, with its metrics and log line."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from alerting.adapters import postgres
from alerting.config import Settings
from alerting.services.rule_service.retention import Retention
from tests.integration import retention_support as stored
from tests.integration.rule_service_support import fresh_database
from tests.integration.sender_support import (
    insert_notification,
    reaches,
    running_sender,
    running_sinks,
    seed_rule,
    webhook_rule,
)
from tests.pipeline_support import eventually
from tests.processes import ServiceProcesses

pytestmark = pytest.mark.integration

DAYS = 30
OLD_ROWS = 3000
NEW_ROWS = 60


async def test_retention_beside_a_real_sender_removes_only_the_old_history(
    base_env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    now = datetime.now(UTC)  # the retention's clock, fixed for the whole test
    async with (
        running_sinks() as sinks,
        running_sender(base_env, settings, sinks, tmp_path) as sender,
    ):
        pool = sender.pool
        cid = f"ret-{uuid.uuid4().hex[:8]}"
        rule, _ = await webhook_rule(pool, cid, sinks.hook("ret"))
        # The history: closed episodes (a firing row and its resolved row each), every
        # row with one delivery and one attempt.
        firing = await pool.fetch(
            "INSERT INTO notifications (notification_id, client_id, alert_id,"
            " severity, source, name, event_ts, rule_ids, status, created_at)"
            " SELECT gen_random_uuid(), $1, 'old-' || i, 'HIGH', 'payments', 'checkout',"
            " $3::timestamptz, ARRAY[$2::uuid], 'SENT', $3::timestamptz"
            " FROM generate_series(1, $4) AS i RETURNING notification_id::text",
            cid, uuid.UUID(rule), stored.days_before(now, DAYS + 10), OLD_ROWS // 2,
        )  # fmt: skip
        await stored.close_episodes(pool, [r[0] for r in firing])
        await pool.execute(
            "WITH d AS (INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type,"
            " status, attempts) SELECT notification_id, gen_random_uuid(), 'webhook', 'SENT', 1"
            " FROM notifications WHERE alert_id LIKE 'old-%' RETURNING notification_id,"
            " endpoint_id)"
            " INSERT INTO delivery_attempts (notification_id, endpoint_id, attempt,"
            " endpoint_type, started_at, duration_ms, outcome, response_code)"
            " SELECT notification_id, endpoint_id, 1, 'webhook', $1, 3, 'SENT', 200 FROM d",
            stored.days_before(now, DAYS + 10),
        )
        assert await stored.counts(pool) == {
            "notifications": OLD_ROWS, "deliveries": OLD_ROWS,
            "delivery_attempts": OLD_ROWS, "rule_outbox": 0,
        }  # fmt: skip

        retention = Retention(
            pool, DAYS, batch_size=100, pause_s=0.1, interval_s=0.2, clock=lambda: now
        )
        stop = asyncio.Event()
        loop = asyncio.create_task(retention.run(stop))
        new: list[str] = []
        try:

            async def history_left() -> int:
                left: int = await pool.fetchval(
                    "SELECT count(*) FROM notifications WHERE alert_id LIKE 'old-%'"
                )
                return left

            for i in range(NEW_ROWS):  # a stream, due at once: the sender's poll takes them
                new.append(await insert_notification(pool, cid, [rule], due_in_s=0))
                await asyncio.sleep(0.02)
                if i == 9:
                    # Deliveries go on while the history is being removed (30 batches,
                    # 0.1 s apart: at least 3 s), not before or after it.
                    for nid in new:
                        await reaches(pool, nid, "SENT")
                    await eventually(lambda: _started(history_left), 10, "the retention started")
                    assert 0 < await history_left() < OLD_ROWS
            for nid in new:
                await reaches(pool, nid, "SENT")

            async def history_gone() -> bool:
                return await history_left() == 0

            await eventually(history_gone, 60, "the old history removed")
            # More passes over the delivered (settled, young) stream remove nothing.
            await asyncio.sleep(0.5)
        finally:
            stop.set()
            await asyncio.wait_for(loop, 30)

        left = await stored.counts(pool)
        assert (left["notifications"], left["deliveries"]) == (NEW_ROWS, NEW_ROWS)
        # Whatever attempts the sender records are the stream's: the history's are gone.
        assert (
            await pool.fetchval(
                "SELECT count(*) FROM delivery_attempts WHERE notification_id <> ALL($1::uuid[])",
                new,
            )
            == 0
        )
        statuses = await pool.fetch(
            "SELECT status, count(*) FROM notifications WHERE notification_id = ANY($1::uuid[])"
            " GROUP BY status",
            new,
        )
        assert [(r[0], r[1]) for r in statuses] == [("SENT", NEW_ROWS)]
        delivered = [json.loads(r["raw_body"]) for r in sinks.requests("ret")]
        assert sorted(b["notification_id"] for b in delivered) == sorted(new)


async def _started(history_left: Callable[[], Awaitable[int]]) -> bool:
    return await history_left() < OLD_ROWS


async def test_the_rule_service_process_runs_retention_at_start(
    base_env: dict[str, str], settings: Settings, service_processes: ServiceProcesses
) -> None:
    async with fresh_database(settings) as own:
        env = {**base_env, "ALERTING_POSTGRES_DSN": own.postgres_dsn}
        env["ALERTING_RETENTION_DAYS"] = "2"
        pool = await postgres.create_pool(own)
        try:
            cid = f"ret-{uuid.uuid4().hex[:8]}"
            rule = await seed_rule(pool, cid)
            now = datetime.now(UTC)
            # Two closed episodes: their firing rows (2 deliveries, 2 attempts each) and
            # their resolved rows.
            three_days_ago, a_day_ago = stored.days_before(now, 3), stored.days_before(now, 1)
            old = [
                await stored.seed(pool, cid, rule, three_days_ago, deliveries=2, closed=True)
                for _ in range(2)
            ]
            old += await stored.resolved_of(pool, old)
            young = [await stored.seed(pool, cid, rule, a_day_ago) for _ in range(2)]
            process = service_processes.new("rule-service", env)
            await asyncio.to_thread(process.start)

            async def removed() -> bool:
                return await stored.existing(pool, old) == set()

            await eventually(removed, 60, "the first retention pass")
            assert await stored.existing(pool, young) == set(young)
            async with httpx.AsyncClient() as client:
                text = (await client.get(f"{process.url}/metrics")).text
            assert 'alerting_retention_removed_total{table="notifications"} 4.0' in text
            assert 'alerting_retention_removed_total{table="delivery_attempts"} 8.0' in text
        finally:
            await pool.close()
        assert process.terminate() == 0, process.logs()
        assert "retention: removed 4 notifications (4 deliveries, 8 delivery attempts)" in (
            process.logs()
        )
