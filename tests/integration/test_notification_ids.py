"""New notifications get time-ordered ids (``uuid_v7()``, migration 0010), so a batch's
rows land at the right edge of the primary keys however many are stored; the rollback
takes the function away again."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import asyncpg
import pytest

from alerting.adapters import postgres
from alerting.config import Settings
from alerting.domain.model import Alert, AlertMatch, Severity
from alerting.services.aggregator import store
from tests.integration.rule_service_support import fresh_database

pytestmark = pytest.mark.integration
ROLLBACK = (
    Path(__file__).parents[2] / "migrations" / "0010_time_ordered_notification_ids.rollback.sql"
)


async def test_new_notifications_get_version_7_ids_that_grow_with_time(
    settings: Settings,
) -> None:
    async with fresh_database(settings) as db:
        pool = await postgres.create_pool(db)
        try:
            rule = str(uuid.uuid4())
            await pool.execute("INSERT INTO clients (client_id, name) VALUES ('c', 'c')")
            await pool.execute(
                "INSERT INTO rules (rule_id, client_id, severity, source, name)"
                " VALUES ($1, 'c', 'HIGH', 's', 'n')",
                rule,
            )
            now = int(time.time())
            batches = []
            for b in range(2):
                matches = [
                    AlertMatch(Alert(f"a{b}-{i}", Severity.HIGH, "s", "n", now), "c", (rule,))
                    for i in range(50)
                ]
                stored = await store.upsert(pool, matches)
                batches.append([uuid.UUID(p.notification_id) for p in stored.pending])
                await asyncio.sleep(0.01)  # a later millisecond
            ms_now = time.time() * 1000
        finally:
            await pool.close()
    first, second = batches
    assert len(first) == len(second) == 50
    assert {i.version for i in first + second} == {7}
    assert len(set(first + second)) == 100
    # the first 48 bits are the creation's Unix milliseconds
    stamps = [i.int >> 80 for i in first + second]
    assert all(ms_now - 5_000 < s <= ms_now + 1 for s in stamps)
    assert max(i.int >> 80 for i in first) < min(i.int >> 80 for i in second)
    assert max(first) < min(second)


async def test_the_rollback_removes_the_id_function(settings: Settings) -> None:
    async with fresh_database(settings) as db:
        conn = await asyncpg.connect(db.postgres_dsn)
        try:
            assert (await conn.fetchval("SELECT uuid_v7()")).version == 7
            await conn.execute(ROLLBACK.read_text())
            with pytest.raises(asyncpg.UndefinedFunctionError):
                await conn.fetchval("SELECT uuid_v7()")
        finally:
            await conn.close()
