"""Per-batch statements must not read the notifications table (or its whole backlog):
their cost would grow with every notification stored or waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from alerting.adapters import postgres
from alerting.config import Settings
from alerting.services.aggregator.store import UPSERT
from alerting.services.sender.repo import CLAIM_READY
from tests.integration.rule_service_support import fresh_database

pytestmark = pytest.mark.integration


async def fill(pool: asyncpg.Pool[Any]) -> None:
    """50,000 notifications, a third of them PENDING (a backlog)."""
    await pool.execute(
        "INSERT INTO notifications (notification_id, client_id, alert_id, severity,"
        " source, name, event_ts, rule_ids, status, next_attempt_at)"
        " SELECT gen_random_uuid(), 'c' || (i % 100), 'a' || i, 'HIGH', 's', 'n',"
        " now(), '{}', CASE WHEN i % 3 = 0 THEN 'PENDING' ELSE 'SENT' END,"
        " now() + interval '30 seconds'"
        " FROM generate_series(1, 50000) i"
    )


async def plan_of(pool: asyncpg.Pool[Any], statement: str, *args: Any) -> str:
    rows = await pool.fetch("EXPLAIN (COSTS OFF) " + statement, *args)
    return "\n".join(r[0] for r in rows)


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool[Any]]:
    async with fresh_database(settings) as db:
        own = await postgres.create_pool(db)
        try:
            await fill(own)
            yield own
        finally:
            await own.close()


async def test_the_aggregator_looks_up_existing_rows_by_index(pool: asyncpg.Pool[Any]) -> None:
    n = 500
    args = [
        [f"c{i % 100}" for i in range(n)],
        [f"a{i}" for i in range(n)],  # existing and new ones
        ["HIGH"] * n,
        ["s"] * n,
        ["n"] * n,
        ["{}"] * n,
        [1_700_000_000] * n,
        ["00000000-0000-4000-8000-000000000001"] * n,
    ]
    plan = await plan_of(pool, UPSERT, *args)
    assert "Seq Scan on notifications" not in plan, plan
    assert "notifications_client_alert_unique" in plan, plan


async def test_a_ready_claim_probes_its_ids_instead_of_reading_the_backlog(
    pool: asyncpg.Pool[Any],
) -> None:
    ids = [
        r[0]
        for r in await pool.fetch(
            "SELECT notification_id FROM notifications WHERE status = 'PENDING' LIMIT 500"
        )
    ]
    plan = await plan_of(pool, CLAIM_READY, "me", 30.0, ids)
    assert "Index Scan using notifications_pkey" in plan, plan
    assert "notifications_due_idx" not in plan, plan
    assert "Seq Scan on notifications" not in plan, plan
