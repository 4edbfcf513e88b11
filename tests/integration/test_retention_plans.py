"""Retention's statements read ranges of indexes, never a whole table: a batch's cost
must follow the batch, not the months of notifications and outbox rows stored. Plans
checked with and without the values, as in test_batch_plans.py."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from alerting.config import Settings
from alerting.services.rule_service.repo import retention as repo
from tests.integration.retention_support import database_of_its_own
from tests.integration.test_batch_plans import PLANS, plan_of

pytestmark = pytest.mark.integration

NOW = datetime(2031, 3, 1, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=30)


async def fill(pool: asyncpg.Pool[Any]) -> None:
    """60,000 firing notifications over 60 days (a tenth PENDING, the rest SENT), a
    resolved row a minute later for each SENT one but a tenth (open episodes, which the
    retention keeps), each row with a delivery and an attempt; and 20,000 outbox rows,
    all published but the last hundred; then statistics, as autovacuum keeps them."""
    await pool.execute(
        "INSERT INTO notifications (notification_id, client_id, alert_id, severity, source,"
        " name, event_ts, rule_ids, status, created_at)"
        " SELECT gen_random_uuid(), 'c' || (i % 100), 'a' || i, 'HIGH', 's', 'n', now(), '{}',"
        " CASE WHEN i % 10 = 0 THEN 'PENDING' ELSE 'SENT' END,"
        " $1::timestamptz - i * interval '86 seconds'"
        " FROM generate_series(1, 60000) i",
        NOW,
    )
    await pool.execute(
        "INSERT INTO notifications (notification_id, client_id, alert_id, severity, source,"
        " name, event_ts, rule_ids, status, kind, firing_id, created_at)"
        " SELECT gen_random_uuid(), client_id, alert_id, 'HIGH', 's', 'n', now(), '{}',"
        " 'SENT', 'resolved', notification_id, created_at + interval '1 minute'"
        " FROM notifications WHERE status = 'SENT' AND alert_id NOT LIKE '%5'"
    )
    await pool.execute(
        "WITH d AS (INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type,"
        " status, attempts) SELECT notification_id, gen_random_uuid(), 'webhook', 'SENT', 1"
        " FROM notifications RETURNING notification_id, endpoint_id)"
        " INSERT INTO delivery_attempts (notification_id, endpoint_id, attempt, endpoint_type,"
        " started_at, duration_ms, outcome) SELECT notification_id, endpoint_id, 1, 'webhook',"
        " now(), 1, 'SENT' FROM d"
    )
    await pool.execute(
        "INSERT INTO rule_outbox (rule_id, client_id, action, version, created_at, published_at)"
        " SELECT gen_random_uuid(), 'c', 'CREATED', 1, t, CASE WHEN i <= 19900 THEN t END"
        " FROM generate_series(1, 20000) i,"
        " LATERAL (SELECT $1::timestamptz - (20000 - i) * interval '259 seconds' AS t) x",
        NOW,
    )
    for table in ("notifications", "deliveries", "delivery_attempts", "rule_outbox"):
        await pool.execute(f"ANALYZE {table}")


@pytest.fixture(scope="module")
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool[Any]]:
    async with database_of_its_own(settings) as own:
        await fill(own)
        yield own


def no_seq_scan(plan: str) -> bool:
    return "Seq Scan" not in plan


@pytest.mark.parametrize("mode", PLANS)
async def test_a_batch_locks_its_rows_by_the_creation_index_up_to_the_cutoff(
    pool: asyncpg.Pool[Any], mode: str
) -> None:
    start = (datetime.min.replace(tzinfo=UTC), repo.FIRST_ID)
    plan = await plan_of(pool, mode, repo.LOCK_NOTIFICATIONS, *start, CUTOFF, 1000)
    assert "notifications_created_idx" in plan and no_seq_scan(plan), plan
    assert "Sort" not in plan, plan  # the index's order: it stops after the batch


@pytest.mark.parametrize("mode", PLANS)
async def test_a_batch_deletes_and_counts_by_key_and_checks_resolveds_by_index(
    pool: asyncpg.Pool[Any], mode: str
) -> None:
    rows = await pool.fetch(
        "SELECT notification_id FROM notifications WHERE created_at < $1 LIMIT 1000", CUTOFF
    )
    ids = [str(r[0]) for r in rows]
    plan = await plan_of(pool, mode, repo.DELETE_NOTIFICATIONS, ids)
    assert no_seq_scan(plan), plan
    assert "notifications_pkey" in plan and "notifications_firing_idx" in plan, plan
    assert "deliveries_pkey" in plan and "delivery_attempts_pkey" in plan, plan


@pytest.mark.parametrize("mode", PLANS)
async def test_an_outbox_batch_reads_a_window_of_the_primary_key(
    pool: asyncpg.Pool[Any], mode: str
) -> None:
    plan = await plan_of(pool, mode, repo.DELETE_OUTBOX, 0, CUTOFF, 1000)
    assert "rule_outbox_pkey" in plan and no_seq_scan(plan), plan


async def test_the_statements_run_on_the_filled_tables(pool: asyncpg.Pool[Any]) -> None:
    """The checked statements are the ones that work: one batch of each, rolled back."""
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            start = (datetime.min.replace(tzinfo=UTC), uuid.UUID(int=0))
            batch = await repo.delete_notifications(conn, start, CUTOFF, 1000)
            assert batch.locked == 1000
            assert batch.notifications == batch.deliveries == batch.delivery_attempts
            assert 0 < batch.notifications <= 1000
            outbox = await repo.delete_outbox(conn, 0, CUTOFF, 1000)
            assert (outbox.removed, outbox.last_id, outbox.done) == (1000, 1000, False)
        finally:
            await tx.rollback()
