"""Shared by the retention tests: a database of their own, rows of a given age, counts.

Not a test module. A retention pass removes every old settled row of its database, so
these tests never run on the session's shared one: counts must be exact.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any, TypeAlias

import asyncpg
import pytest

from alerting.config import Settings
from tests.integration.rule_service_support import database_of_its_own
from tests.integration.sender_support import insert_notification

Pool: TypeAlias = "asyncpg.Pool[Any]"
TABLES = ("notifications", "deliveries", "delivery_attempts", "rule_outbox")


@pytest.fixture(scope="module")
async def own_pool(settings: Settings) -> AsyncIterator[Pool]:
    """A database for this module alone."""
    async with database_of_its_own(settings) as pool:
        yield pool


@pytest.fixture
async def pool(own_pool: Pool) -> Pool:
    """The module's database, emptied of what an earlier test left."""
    await own_pool.execute("TRUNCATE notifications, rule_outbox CASCADE")
    return own_pool


def days_before(now: datetime, days: float) -> datetime:
    return now - timedelta(days=days)


async def seed(
    pool: Pool,
    client_id: str,
    rule_id: str,
    created_at: datetime,
    status: str = "SENT",
    *,
    deliveries: int = 1,
    attempts_each: int = 2,
    closed: bool = False,
    **columns: Any,
) -> str:
    """A notification created at ``created_at`` with ``deliveries`` delivery rows and
    ``attempts_each`` delivery attempts per delivery; its id. ``closed``: its episode's
    resolved row too, SENT a second later (no deliveries of its own), so the episode
    may go (an open one, a firing row without its resolved row, is kept)."""
    nid = await insert_notification(
        pool, client_id, [rule_id], status=status, created_at=created_at, **columns
    )
    for _ in range(deliveries):
        endpoint = uuid.uuid4()
        await pool.execute(
            "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status,"
            " attempts) VALUES ($1, $2, 'webhook', 'SENT', $3)",
            uuid.UUID(nid), endpoint, attempts_each,
        )  # fmt: skip
        await pool.execute(
            "INSERT INTO delivery_attempts (notification_id, endpoint_id, attempt,"
            " endpoint_type, started_at, duration_ms, outcome, response_code)"
            " SELECT $1, $2, a, 'webhook', $3, 5, 'SENT', 200 FROM generate_series(1, $4) a",
            uuid.UUID(nid), endpoint, created_at, attempts_each,
        )  # fmt: skip
    if closed:
        await close_episodes(pool, [nid])
    return nid


async def close_episodes(pool: Pool, firing_ids: list[str]) -> int:
    """Each firing row's resolved row, as the aggregator writes it, SENT a second after
    the firing was created: closed episodes, which the retention may remove."""
    status: str = await pool.execute(
        "INSERT INTO notifications (notification_id, client_id, alert_id, severity, source,"
        " name, event_ts, rule_ids, status, kind, episode, firing_id, created_at, sent_at)"
        " SELECT gen_random_uuid(), client_id, alert_id, severity, source, name, event_ts,"
        " rule_ids, 'SENT', 'resolved', episode, notification_id,"
        " created_at + interval '1 second', created_at + interval '1 second'"
        " FROM notifications WHERE notification_id = ANY($1::uuid[])",
        firing_ids,
    )
    return int(status.rsplit(" ", 1)[-1])


async def resolved_of(pool: Pool, firing_ids: list[str]) -> list[str]:
    """The ids of these firing rows' resolved rows."""
    rows = await pool.fetch(
        "SELECT notification_id::text FROM notifications WHERE firing_id = ANY($1::uuid[])",
        firing_ids,
    )
    return [r[0] for r in rows]


async def counts(pool: Pool) -> dict[str, int]:
    """Rows per table retention touches."""
    return {t: await pool.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}


async def existing(pool: Pool, ids: list[str]) -> set[str]:
    rows = await pool.fetch(
        "SELECT notification_id::text FROM notifications WHERE notification_id = ANY($1::uuid[])",
        ids,
    )
    return {r[0] for r in rows}


async def seed_outbox(pool: Pool, created_at: datetime, published: bool) -> int:
    outbox_id: int = await pool.fetchval(
        "INSERT INTO rule_outbox (rule_id, client_id, action, version, created_at, published_at)"
        " VALUES (gen_random_uuid(), 'c', 'CREATED', 1, $1::timestamptz,"
        " CASE WHEN $2::boolean THEN $1::timestamptz END)"
        " RETURNING outbox_id",
        created_at, published,
    )  # fmt: skip
    return outbox_id
