"""clients; deleting one deletes its rules, each with a DELETED outbox row, and leaves a
tombstone (``deleted_clients``) until its notifications are purged (``repo/purge.py``)."""

from __future__ import annotations

import asyncpg

from alerting.adapters.postgres import CLIENT_DELETION_LOCK
from alerting.domain.model import ChangedEntity, RuleAction
from alerting.services.rule_service.cursor import Position
from alerting.services.rule_service.repo import outbox
from alerting.services.rule_service.repo.sql import Conn, Executor, Where

COLUMNS = "client_id, name, created_at, updated_at"
# Creating and deleting one client_id are serialized by this transaction-level advisory
# lock (the two-key form, a key space apart from the outbox relay's one-key lock): a
# create that raced a delete would otherwise not see the delete's uncommitted tombstone.
ID_LOCK = "SELECT pg_advisory_xact_lock(1668049262, hashtext($1))"  # b"clin"


class BeingDeleted(Exception):
    """The client_id still has a tombstone: its old notifications are being purged."""


async def insert(conn: Conn, client_id: str, name: str) -> asyncpg.Record:
    """Raise ``BeingDeleted`` while a deleted client of that id is still being purged,
    so a re-created client starts empty (and is not de-duplicated against old rows);
    ``asyncpg.UniqueViolationError`` when it exists."""
    async with conn.transaction():
        await conn.execute(ID_LOCK, client_id)
        if await conn.fetchval("SELECT 1 FROM deleted_clients WHERE client_id = $1", client_id):
            raise BeingDeleted(client_id)
        row: asyncpg.Record | None = await conn.fetchrow(
            f"INSERT INTO clients (client_id, name) VALUES ($1, $2) RETURNING {COLUMNS}",
            client_id,
            name,
        )
    assert row is not None
    return row


async def get(conn: Executor, client_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM clients WHERE client_id = $1", client_id)


async def page(
    conn: Executor, *, only: str | None, after: Position | None, limit: int
) -> list[asyncpg.Record]:
    where = Where().equal("client_id", only).after("created_at", "client_id", after, "text")
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM clients{where.sql()}"
        f" ORDER BY created_at, client_id LIMIT {where.arg(limit)}",
        *where.args,
    )


async def rename(conn: Executor, client_id: str, name: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"UPDATE clients SET name = $2, updated_at = now() WHERE client_id = $1"
        f" RETURNING {COLUMNS}",
        client_id,
        name,
    )


async def delete(conn: Conn, client_id: str) -> bool:
    """Delete a client, its rules and silences (one DELETED outbox row each), endpoints and
    keys, and
    tombstone its notifications (``repo/purge.py`` removes them later, in batches).

    The client row is locked first: inserting a rule takes a key-share lock on it, so
    no rule can be added between reading the rules and deleting the client. The
    deletion lock (``CLIENT_DELETION_LOCK``, shared by every aggregator batch) comes
    last, once the client is known to exist and its rows are already deleted: a 404 or a
    wait for row locks never holds back the aggregator's batches of every tenant. It
    waits for the batches in flight (which saw the rules and commit their rows before
    it is granted) and holds new ones back until this commits (they then see the rules
    gone): no notification of the client can appear after it, so the purge, which
    starts after the commit, sees them all. Aggregator batches take no row locks, so
    holding the rules' delete locks while waiting for them cannot deadlock.
    """
    async with conn.transaction():
        await conn.execute(ID_LOCK, client_id)
        found = await conn.fetchval(
            "SELECT 1 FROM clients WHERE client_id = $1 FOR UPDATE", client_id
        )
        if found is None:
            return False
        rules = await conn.fetch(
            "DELETE FROM rules WHERE client_id = $1 RETURNING rule_id, version", client_id
        )
        # Its silences go with the client row (ON DELETE CASCADE): each says so too.
        silences = await conn.fetch(
            "SELECT silence_id, version FROM silences WHERE client_id = $1", client_id
        )
        await outbox.record(
            conn,
            [
                outbox.OutboxEntry(r["rule_id"], client_id, RuleAction.DELETED, r["version"] + 1)
                for r in rules
            ]
            + [
                outbox.OutboxEntry(
                    s["silence_id"],
                    client_id,
                    RuleAction.DELETED,
                    s["version"] + 1,
                    ChangedEntity.SILENCE,
                )
                for s in silences
            ],
        )
        await conn.execute("DELETE FROM clients WHERE client_id = $1", client_id)
        await conn.execute("SELECT pg_advisory_xact_lock($1)", CLIENT_DELETION_LOCK)
        await conn.execute(
            "INSERT INTO deleted_clients (client_id) VALUES ($1) ON CONFLICT DO NOTHING",
            client_id,
        )
    return True
