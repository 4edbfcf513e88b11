"""Silences are kept when they end (the audit of what was muted), so a client's history
grows without bound: the statements that want the silences not over (the quota's count,
the releaser's and /match's active silences) and an admin's listing must read ranges of
indexes, never every silence ever stored. Plans as in test_batch_plans.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from alerting.adapters import postgres
from alerting.config import Settings
from alerting.services.rule_service.repo import quotas
from alerting.services.rule_service.repo import silences as repo
from tests.integration.rule_service_support import fresh_database
from tests.integration.test_batch_plans import PLANS, plan_of

pytestmark = pytest.mark.integration


async def fill(pool: asyncpg.Pool[Any]) -> None:
    """100 clients, 30,000 silences: all ended but one in a hundred (and a few windows
    without an end)."""
    await pool.execute(
        "INSERT INTO clients (client_id, name) SELECT 'c' || i, 'c' FROM generate_series(0, 99) i"
    )
    await pool.execute(
        "INSERT INTO silences (silence_id, client_id, matchers, starts_at, ends_at, time_zone,"
        " weekly, created_by, created_at)"
        " SELECT gen_random_uuid(), 'c' || (i % 100), '[]', now() - interval '2 days',"
        " CASE WHEN i % 1000 = 7 THEN NULL WHEN i % 100 = 3 THEN now() + interval '1 day'"
        "     ELSE now() - interval '1 day' + i * interval '1 second' END,"
        " CASE WHEN i % 1000 = 7 THEN 'UTC' END, CASE WHEN i % 1000 = 7 THEN '[]'::jsonb END,"
        " 'admin', now() - interval '3 days' + i * interval '1 second'"
        " FROM generate_series(1, 30000) i"
    )
    await pool.execute("ANALYZE silences")


@pytest.fixture(scope="module")
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool[Any]]:
    async with fresh_database(settings) as db:
        own = await postgres.create_pool(db)
        try:
            await fill(own)
            yield own
        finally:
            await own.close()


def reads_an_index(plan: str, index: str) -> bool:
    return index in plan and "Seq Scan on silences" not in plan


@pytest.mark.parametrize("mode", PLANS)
async def test_the_quota_counts_only_the_silences_not_over(
    pool: asyncpg.Pool[Any], mode: str
) -> None:
    plan = await plan_of(pool, mode, quotas.SILENCES_PER_CLIENT.count_sql, "c3")
    assert reads_an_index(plan, "silences_client_end_idx"), plan
    assert await pool.fetchval(quotas.SILENCES_PER_CLIENT.count_sql, "c3") == 300


@pytest.mark.parametrize("mode", PLANS)
async def test_active_silences_are_read_per_client_without_the_history(
    pool: asyncpg.Pool[Any], mode: str
) -> None:
    sql, args = repo.active_query(["c3", "c7"], datetime.now(UTC), 100_000)
    plan = await plan_of(pool, mode, sql, *args)
    assert reads_an_index(plan, "silences_client_end_idx"), plan
    assert len(await pool.fetch(sql, *args)) == 300 + 30


@pytest.mark.parametrize("mode", PLANS)
async def test_an_admins_listing_follows_the_creation_order_index(
    pool: asyncpg.Pool[Any], mode: str
) -> None:
    sql, args = repo.page_query(
        client_id=None, state=None, now=datetime.now(UTC), after=None, limit=51
    )
    plan = await plan_of(pool, mode, sql, *args)
    assert reads_an_index(plan, "silences_created_idx"), plan
