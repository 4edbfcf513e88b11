"""endpoints; ownership is the owning rule's client. The signing secret is written here,
sealed (``endpoint_values.sealed_secret``), and selected again only, still sealed, for a
test send (``sealed_secrets``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from alerting.services.rule_service.cursor import Position
from alerting.services.rule_service.repo.sql import Executor, Where

COLUMNS = (
    "e.endpoint_id, e.rule_id, e.type, e.value, e.enabled, e.send_resolved, e.templates,"
    " e.created_at, e.updated_at, e.disabled_reason, e.disabled_at, e.rate_per_s, e.rate_burst"
)
RETURNING = (
    "endpoint_id, rule_id, type, value, enabled, send_resolved, templates, created_at,"
    " updated_at, disabled_reason, disabled_at, rate_per_s, rate_burst"
)


@dataclass(frozen=True, slots=True)
class RateOverride:
    """``endpoints.rate_per_s`` / ``rate_burst``; None is NULL: the channel's default."""

    per_s: float | None = None
    burst: int | None = None


async def insert(
    conn: Executor,
    endpoint_id: UUID,
    rule_id: UUID,
    type_: str,
    value: str,
    signing_secret: str | None,
    send_resolved: bool = True,
    templates: Mapping[str, str] | None = None,
    rate: RateOverride = RateOverride(),
) -> asyncpg.Record:
    row: asyncpg.Record | None = await conn.fetchrow(
        "INSERT INTO endpoints (endpoint_id, rule_id, type, value, signing_secret, send_resolved,"
        " templates, rate_per_s, rate_burst) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        f" RETURNING {RETURNING}",
        endpoint_id,
        rule_id,
        type_,
        value,
        signing_secret,
        send_resolved,
        templates,
        rate.per_s,
        rate.burst,
    )
    assert row is not None
    return row


async def get(
    conn: Executor, endpoint_id: UUID, owner: str | None, *, for_update: bool = False
) -> asyncpg.Record | None:
    """The endpoint and the client of its rule (for the audit log); ``for_update`` locks
    the endpoint's row (not the rule's) until the transaction ends."""
    where = Where().add("e.endpoint_id = {}", endpoint_id).equal("r.client_id", owner)
    lock = " FOR UPDATE OF e" if for_update else ""
    return await conn.fetchrow(
        f"SELECT {COLUMNS}, r.client_id FROM endpoints e"
        f" JOIN rules r ON r.rule_id = e.rule_id{where.sql()}{lock}",
        *where.args,
    )


async def page(
    conn: Executor, *, rule_id: UUID, after: Position | None, limit: int
) -> list[asyncpg.Record]:
    where = Where().add("e.rule_id = {}", rule_id)
    where.after("e.created_at", "e.endpoint_id", after, "uuid")
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM endpoints e{where.sql()}"
        f" ORDER BY e.created_at, e.endpoint_id LIMIT {where.arg(limit)}",
        *where.args,
    )


async def update(
    conn: Executor,
    endpoint_id: UUID,
    value: str,
    enabled: bool | None,
    send_resolved: bool,
    templates: Mapping[str, str] | None,
    rate: RateOverride,
    signing_secret: str | None = None,
) -> asyncpg.Record | None:
    """``enabled`` None keeps the row's own (read under the update's lock: the sender may
    have just disabled it, after a 410 Gone, and a PATCH of another field must not undo
    that). Enabling clears why and when it was disabled. ``signing_secret`` (sealed) is a
    caller-supplied credential replacing the stored one; None keeps it."""
    return await conn.fetchrow(
        "UPDATE endpoints SET value = $2, enabled = coalesce($3, enabled),"
        " disabled_reason = CASE WHEN $3 THEN NULL ELSE disabled_reason END,"
        " disabled_at = CASE WHEN $3 THEN NULL ELSE disabled_at END,"
        " send_resolved = $4, templates = $5, rate_per_s = $6, rate_burst = $7,"
        " signing_secret = coalesce($8, signing_secret), updated_at = now()"
        f" WHERE endpoint_id = $1 RETURNING {RETURNING}",
        endpoint_id,
        value,
        enabled,
        send_resolved,
        templates,
        rate.per_s,
        rate.burst,
        signing_secret,
    )


async def delete(conn: Executor, endpoint_id: UUID) -> bool:
    row: asyncpg.Record | None = await conn.fetchrow(
        "DELETE FROM endpoints WHERE endpoint_id = $1 RETURNING endpoint_id", endpoint_id
    )
    return row is not None


async def sealed_secrets(conn: Executor, endpoint_id: UUID) -> tuple[str | None, str | None] | None:
    """The sealed signing secret and the rotated-out one while it is valid, for a test
    send (opened by the caller with the keyring, never returned by the API)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT signing_secret, CASE WHEN previous_secret_expires_at > now()"
        " THEN previous_signing_secret END AS previous FROM endpoints WHERE endpoint_id = $1",
        endpoint_id,
    )
    return None if row is None else (row["signing_secret"], row["previous"])
