"""Shared by the plan tests (``test_batch_plans.py``, ``test_flusher_plans.py``): a
database holding many notifications, and a statement's plan as Postgres runs it with
its values (custom) and without them (generic). Why both: ``test_batch_plans.py``.

Not a test module: the plan tests import from here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from alerting.config import Settings
from tests.integration.rule_service_support import database_of_its_own

LEASE = datetime(2030, 1, 1, tzinfo=UTC)
PLANS = ["custom", "generic"]


async def fill(pool: asyncpg.Pool[Any]) -> None:
    """50,000 notifications: a third PENDING (a backlog), a few hundred SENDING (claims
    in flight, of one sender), the rest SENT; then statistics, as autovacuum keeps them."""
    await pool.execute(
        "INSERT INTO notifications (notification_id, client_id, alert_id, severity,"
        " source, name, event_ts, rule_ids, status, next_attempt_at, claimed_by,"
        " claim_expires_at)"
        " SELECT gen_random_uuid(), 'c' || (i % 100), 'a' || i, 'HIGH', 's', 'n',"
        " now(), '{}', s.status, now() + interval '30 seconds',"
        " CASE WHEN s.status = 'SENDING' THEN 'me' END,"
        " CASE WHEN s.status = 'SENDING' THEN $1::timestamptz END"
        " FROM generate_series(1, 50000) i"
        " CROSS JOIN LATERAL (SELECT CASE WHEN i % 3 = 0 THEN 'PENDING'"
        "     WHEN i % 100 = 1 THEN 'SENDING' ELSE 'SENT' END AS status) s",
        LEASE,
    )
    # Resolved rows (issue 14): one per tenth firing row, waiting for it when it is not
    # final yet.
    await pool.execute(
        "INSERT INTO notifications (notification_id, client_id, alert_id, severity, source,"
        " name, event_ts, rule_ids, status, next_attempt_at, kind, firing_id)"
        " SELECT gen_random_uuid(), client_id, alert_id, 'HIGH', 's', 'n', now(), '{}',"
        " CASE WHEN status IN ('SENT', 'FAILED') THEN 'SENT' ELSE 'PENDING' END,"
        " now() + interval '5 minutes', 'resolved', notification_id"
        " FROM notifications WHERE alert_id LIKE '%0'"
    )
    await pool.execute("ANALYZE notifications")


def text_of(value: Any) -> str:
    """A value as Postgres reads it from text; a ctid arrives from asyncpg as a tuple."""
    return "({},{})".format(*value) if isinstance(value, tuple) else str(value)


def literal(value: Any) -> str:
    """A SQL literal for the argument kinds these statements take."""
    if value is None:
        return "NULL"
    if isinstance(value, list):
        quoted = (text_of(v).replace("\\", "\\\\").replace('"', '\\"') for v in value)
        items = ("NULL" if v is None else f'"{q}"' for v, q in zip(value, quoted, strict=True))
        return literal("{" + ",".join(items) + "}")
    return "'" + text_of(value).replace("'", "''") + "'"


async def plan_of(pool: asyncpg.Pool[Any], mode: str, statement: str, *args: Any) -> str:
    """The plan Postgres runs ``statement`` with: ``custom`` plans with the values (as
    EXPLAIN with parameters does), ``generic`` without them, as a prepared statement
    that has gone generic."""
    async with pool.acquire() as conn:
        if mode == "custom":
            rows = await conn.fetch("EXPLAIN (COSTS OFF) " + statement, *args)
            return "\n".join(r[0] for r in rows)
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        try:
            await conn.execute("PREPARE checked AS " + statement)
            try:
                values = ", ".join(literal(a) for a in args)
                rows = await conn.fetch(f"EXPLAIN (COSTS OFF) EXECUTE checked({values})")
                generic = await conn.fetchval(
                    "SELECT generic_plans FROM pg_prepared_statements WHERE name = 'checked'"
                )
                assert generic == 1, "the statement was not planned generically"
            finally:
                await conn.execute("DEALLOCATE checked")
        finally:
            await conn.execute("RESET plan_cache_mode")
    return "\n".join(r[0] for r in rows)


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool[Any]]:
    async with database_of_its_own(settings) as own:
        await fill(own)
        yield own


@pytest.fixture
async def stale_pool(settings: Settings) -> AsyncIterator[asyncpg.Pool[Any]]:
    """``fill``'s rows with statistics taken before the backlog came: all SENT when
    analyzed, then a third PENDING and due 30 s ahead (the aggregator's safety net), as
    after a burst into a quiet system. Autovacuum is off for the table, so the
    statistics stay stale for the test."""
    async with database_of_its_own(settings) as own:
        await own.execute("ALTER TABLE notifications SET (autovacuum_enabled = false)")
        await fill(own)
        await own.execute(
            "UPDATE notifications SET status = 'SENT', claimed_by = NULL,"
            " claim_expires_at = NULL WHERE kind = 'firing'"
        )
        await own.execute("ANALYZE notifications")
        await own.execute(
            "UPDATE notifications SET status = 'PENDING',"
            " next_attempt_at = now() + interval '30 seconds'"
            " WHERE kind = 'firing' AND alert_id LIKE '%3'"
        )
        yield own


async def ids_in(pool: asyncpg.Pool[Any], status: str, n: int = 500) -> list[str]:
    rows = await pool.fetch(
        "SELECT notification_id::text FROM notifications WHERE status = $1 LIMIT $2", status, n
    )
    return [r[0] for r in rows]
