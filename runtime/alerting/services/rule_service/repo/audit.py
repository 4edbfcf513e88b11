"""audit_log rows: written inside the transaction of the change they record; listed
for admins."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import uuid4

import asyncpg

from alerting.services.rule_service.cursor import Position
from alerting.services.rule_service.repo.sql import Conn, Executor, Where

COLUMNS = (
    "audit_id, at, actor, actor_client_id, action, resource_type, resource_id, client_id,"
    " details, request_id"
)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made the change: ``admin`` or ``key:<prefix>`` (with the key's client)."""

    name: str
    client_id: str | None
    request_id: str | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    action: str  # <resource type>.<verb>, e.g. endpoint.update
    resource_id: str
    client_id: str | None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def resource_type(self) -> str:
        return self.action.partition(".")[0]


async def record(conn: Conn, actor: Actor, entries: Sequence[AuditEntry]) -> None:
    if not entries:
        return
    assert conn.is_in_transaction(), "audit rows must share the change's transaction"
    await conn.executemany(
        "INSERT INTO audit_log (audit_id, actor, actor_client_id, action, resource_type,"
        " resource_id, client_id, details, request_id)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [
            (
                uuid4(),
                actor.name,
                actor.client_id,
                e.action,
                e.resource_type,
                e.resource_id,
                e.client_id,
                dict(e.details),
                actor.request_id,
            )
            for e in entries
        ],
    )


async def page(
    conn: Executor,
    *,
    client_id: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    after: Position | None,
    limit: int,
) -> list[asyncpg.Record]:
    where = Where().equal("client_id", client_id).equal("action", action)
    if since is not None:
        where.add("at >= {}", since)
    if until is not None:
        where.add("at < {}", until)
    where.after("at", "audit_id", after, "uuid")
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM audit_log{where.sql()}"
        f" ORDER BY at, audit_id LIMIT {where.arg(limit)}",
        *where.args,
    )
