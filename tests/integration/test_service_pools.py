"""The services' Postgres pools: what each session is set to, read back from Postgres."""

from __future__ import annotations

import pytest

from alerting.adapters import postgres
from alerting.config import Settings

pytestmark = pytest.mark.integration


async def test_a_pool_waits_for_its_commits_to_be_flushed_unless_asked_not_to(
    settings: Settings,
) -> None:
    durable = await postgres.create_pool(settings)
    at_least_once = await postgres.create_pool(settings, async_commit=True)
    try:
        assert await durable.fetchval("SHOW synchronous_commit") == "on"
        assert await at_least_once.fetchval("SHOW synchronous_commit") == "off"
        for pool in (durable, at_least_once):
            assert await pool.fetchval("SHOW plan_cache_mode") == "auto"
    finally:
        await durable.close()
        await at_least_once.close()
