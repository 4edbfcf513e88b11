"""The aggregator's per-batch statement must not scan the notifications table: its cost
would grow with every notification ever stored."""

from __future__ import annotations

import pytest

from alerting.adapters import postgres
from alerting.config import Settings
from alerting.services.aggregator.store import UPSERT
from tests.integration.rule_service_support import fresh_database

pytestmark = pytest.mark.integration


async def test_a_batch_looks_up_existing_rows_by_index_not_by_scanning(
    settings: Settings,
) -> None:
    async with fresh_database(settings) as db:
        pool = await postgres.create_pool(db)
        try:
            await pool.execute(
                "INSERT INTO notifications (notification_id, client_id, alert_id, severity,"
                " source, name, event_ts, rule_ids, status)"
                " SELECT gen_random_uuid(), 'c' || (i % 100), 'a' || i, 'HIGH', 's', 'n',"
                " now(), '{}', CASE WHEN i % 3 = 0 THEN 'PENDING' ELSE 'SENT' END"
                " FROM generate_series(1, 50000) i"
            )
            n = 500
            args = [
                [f"c{i % 100}" for i in range(n)],
                [f"a{i}" for i in range(n)],  # half new, half existing
                ["HIGH"] * n,
                ["s"] * n,
                ["n"] * n,
                ["{}"] * n,
                [1_700_000_000] * n,
                ["00000000-0000-4000-8000-000000000001"] * n,
            ]
            async with pool.acquire() as conn, conn.transaction():
                plan = "\n".join(
                    r[0] for r in await conn.fetch("EXPLAIN (COSTS OFF) " + UPSERT, *args)
                )
            assert "Seq Scan on notifications" not in plan, plan
            assert "notifications_client_alert_unique" in plan, plan
        finally:
            await pool.close()
