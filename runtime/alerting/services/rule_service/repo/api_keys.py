"""api_keys: only the prefix and a hash of the token are stored.

Issuing, listing and revoking; the per-request lookup is the web layer's key store
(``alerting.adapters.api_key_store``).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from alerting.services.rule_service.cursor import Position
from alerting.services.rule_service.repo.sql import Executor, Where

COLUMNS = (
    "key_id, prefix, scope, client_id, description, created_at, last_used_at, revoked_at,"
    " label_mapping"
)


async def insert(
    conn: Executor,
    key_id: UUID,
    prefix: str,
    secret_hash: str,
    scope: str,
    client_id: str | None,
    description: str,
    label_mapping: dict[str, Any] | None = None,
) -> asyncpg.Record:
    row: asyncpg.Record | None = await conn.fetchrow(
        "INSERT INTO api_keys"
        " (key_id, prefix, secret_hash, scope, client_id, description, label_mapping)"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}",
        key_id,
        prefix,
        secret_hash,
        scope,
        client_id,
        description,
        label_mapping,
    )
    assert row is not None
    return row


async def page(
    conn: Executor,
    *,
    client_id: str | None,
    scope: str | None,
    after: Position | None,
    limit: int,
) -> list[asyncpg.Record]:
    where = Where().equal("client_id", client_id).equal("scope", scope)
    where.after("created_at", "key_id", after, "uuid")
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM api_keys{where.sql()}"
        f" ORDER BY created_at, key_id LIMIT {where.arg(limit)}",
        *where.args,
    )


async def revoke(conn: Executor, key_id: UUID, client_id: str | None) -> asyncpg.Record | None:
    """Revoke a key (idempotent): its client_id and prefix; None when no such key (of
    that client)."""
    where = Where().add("key_id = {}", key_id).equal("client_id", client_id)
    row: asyncpg.Record | None = await conn.fetchrow(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())"
        f"{where.sql()} RETURNING client_id, prefix",
        *where.args,
    )
    return row


async def set_label_mapping(
    conn: Executor, key_id: UUID, label_mapping: dict[str, Any] | None
) -> asyncpg.Record | None:
    """Replace an ingest key's mapping: the key as it is now; None when there is no such
    key. A client key is returned unchanged (the caller says why it cannot carry one)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "UPDATE api_keys SET label_mapping = CASE WHEN scope = 'ingest' THEN $2::jsonb"
        f" ELSE label_mapping END WHERE key_id = $1 RETURNING {COLUMNS}",
        key_id,
        label_mapping,
    )
    return row
