"""Migration 0013: one per-client index of notifications instead of two, built and
dropped CONCURRENTLY (outside a transaction, which yoyo's ``transactional: false``
allows); the rollback brings the two old indexes back, and migrating again replaces
them. What each reader's plan does with it: docs/performance.md, "The client indexes
merged" (measured at three million stored rows; a small test table plans otherwise)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from yoyo import get_backend, read_migrations

from alerting import migrations
from alerting.config import Settings
from tests.integration.rule_service_support import fresh_database

pytestmark = pytest.mark.integration
MIGRATION = "0013_client_list_index"


async def client_indexes(conn: asyncpg.Connection[Any]) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT c.relname::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = 'notifications'::regclass AND c.relname LIKE '%client%'"
        " AND i.indisvalid"
    )
    return {name: definition.split(" USING btree ")[1] for name, definition in rows}


def roll_back(dsn: str) -> None:
    """0013's rollback as ``alerting`` would run it (yoyo, statement by statement)."""
    backend = get_backend(migrations._yoyo_uri(dsn))
    try:
        todo = read_migrations(str(migrations.migrations_dir())).filter(lambda m: m.id == MIGRATION)
        with backend.lock():
            backend.rollback_migrations(backend.to_rollback(todo))
    finally:
        backend.connection.close()


async def test_one_client_index_replaces_two_and_the_rollback_restores_them(
    settings: Settings,
) -> None:
    async with fresh_database(settings) as db:
        conn = await asyncpg.connect(db.postgres_dsn)
        try:
            assert await client_indexes(conn) == {
                "notifications_client_list_idx": "(client_id, created_at, notification_id, status)"
            }
            await asyncio.to_thread(roll_back, db.postgres_dsn)
            assert await client_indexes(conn) == {
                "notifications_client_created_idx": "(client_id, created_at, notification_id)",
                "notifications_client_status_idx": (
                    "(client_id, status, created_at, notification_id)"
                ),
            }
            await asyncio.to_thread(migrations.apply, db.postgres_dsn)
            assert list(await client_indexes(conn)) == ["notifications_client_list_idx"]
        finally:
            await conn.close()
