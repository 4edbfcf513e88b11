"""The sender's connections commit without waiting for the WAL flush
(postgres.ASYNC_COMMIT_SETTINGS), except the group claim that makes digests: a digest
that may have been sent must survive a Postgres crash with its id and members."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from alerting.services.sender import group_statements as sql
from alerting.services.sender.group_repo import PostgresGroupStore
from alerting.services.sender.repo import PostgresSenderStore
from tests.integration.flusher_support import pool, seed_group

pytestmark = pytest.mark.integration
__all__ = ["pool"]  # the fixture


class SenderSession:
    """One connection set up as the sender's are (synchronous_commit off), recording
    the session's synchronous_commit whenever a digest is made on it."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.when_digests_made: list[str] = []

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        yield self

    def transaction(self) -> Any:
        return self._conn.transaction()

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        if query in (sql.NEW_DIGESTS, sql.REPEAT_DIGESTS):
            self.when_digests_made.append(await self._conn.fetchval("SHOW synchronous_commit"))
        return list(await self._conn.fetch(query, *args))

    async def execute(self, query: str, *args: Any) -> str:
        return str(await self._conn.execute(query, *args))


async def test_the_claim_that_makes_a_digest_waits_for_its_commit_to_be_flushed(
    pool: asyncpg.Pool[Any],
) -> None:
    group = await seed_group(pool, 3)
    async with pool.acquire() as conn:
        await conn.execute("SET synchronous_commit = off")
        session = SenderSession(conn)
        store = PostgresGroupStore(session, PostgresSenderStore(pool))  # type: ignore[arg-type]
        [claim] = await store.claim_groups("f:1", 30, 10)
        after = await conn.fetchval("SHOW synchronous_commit")
        await conn.execute("RESET synchronous_commit")
    assert sorted(m.notification_id for m in claim.digest.members) == group.members
    assert session.when_digests_made == ["on"]
    assert after == "off"  # SET LOCAL: only that transaction, the session stays as it was
