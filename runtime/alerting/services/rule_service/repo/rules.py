"""rules: every change also writes its outbox row, in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from alerting.domain.grouping import GroupingPolicy
from alerting.domain.model import RuleAction
from alerting.services.rule_service.cursor import Position
from alerting.services.rule_service.repo import outbox
from alerting.services.rule_service.repo.sql import Conn, Executor, Where

COLUMNS = (
    "rule_id, client_id, severity, source, name, enabled, grouping, version, created_at, updated_at"
)


@dataclass(frozen=True, slots=True)
class RuleFields:
    severity: str
    source: str
    name: str
    enabled: bool
    # The sender reads it from this table at delivery: neither the outbox message nor
    # the evaluators' snapshot carries it (a change still bumps the version).
    grouping: GroupingPolicy | None = None

    def params(self) -> tuple[str, str, str, bool, dict[str, Any] | None]:
        """The values in the order INSERT and UPDATE list their columns (severity,
        source, name, enabled, grouping), so both statements bind the same list."""
        grouping = None if self.grouping is None else self.grouping.to_json()
        return (self.severity, self.source, self.name, self.enabled, grouping)


async def insert(conn: Conn, rule_id: UUID, client_id: str, fields: RuleFields) -> asyncpg.Record:
    async with conn.transaction():
        row: asyncpg.Record | None = await conn.fetchrow(
            "INSERT INTO rules (rule_id, client_id, severity, source, name, enabled, grouping)"
            f" VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}",
            rule_id,
            client_id,
            *fields.params(),
        )
        assert row is not None
        await outbox.record(
            conn, [outbox.OutboxEntry(rule_id, client_id, RuleAction.CREATED, row["version"])]
        )
    return row


async def get(
    conn: Executor, rule_id: UUID, owner: str | None, *, for_update: bool = False
) -> asyncpg.Record | None:
    where = Where().add("rule_id = {}", rule_id).equal("client_id", owner)
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM rules{where.sql()}{lock}", *where.args)


async def page(
    conn: Executor,
    *,
    client_id: str | None,
    enabled: bool | None,
    after: Position | None,
    limit: int,
) -> list[asyncpg.Record]:
    where = Where().equal("client_id", client_id).equal("enabled", enabled)
    where.after("created_at", "rule_id", after, "uuid")
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM rules{where.sql()}"
        f" ORDER BY created_at, rule_id LIMIT {where.arg(limit)}",
        *where.args,
    )


async def update(
    conn: Conn, rule_id: UUID, fields: RuleFields, action: RuleAction
) -> asyncpg.Record:
    """Apply new field values and bump the version; call inside the transaction that
    locked the row (``get(..., for_update=True)``) and checked its version."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "UPDATE rules SET severity = $2, source = $3, name = $4, enabled = $5, grouping = $6,"
        f" version = version + 1, updated_at = now() WHERE rule_id = $1 RETURNING {COLUMNS}",
        rule_id,
        *fields.params(),
    )
    assert row is not None
    await outbox.record(
        conn, [outbox.OutboxEntry(rule_id, row["client_id"], action, row["version"])]
    )
    return row


async def delete(conn: Conn, rule_id: UUID, owner: str | None) -> str | None:
    """Delete a rule (its endpoints cascade): the client it belonged to, None when there
    was no such rule (of ``owner``). The DELETED row carries version + 1, so it orders
    after every earlier change of the rule."""
    where = Where().add("rule_id = {}", rule_id).equal("client_id", owner)
    async with conn.transaction():
        row: asyncpg.Record | None = await conn.fetchrow(
            f"DELETE FROM rules{where.sql()} RETURNING client_id, version", *where.args
        )
        if row is None:
            return None
        await outbox.record(
            conn,
            [outbox.OutboxEntry(rule_id, row["client_id"], RuleAction.DELETED, row["version"] + 1)],
        )
    client_id: str = row["client_id"]
    return client_id


async def matching(
    conn: Executor,
    *,
    client_id: str | None,
    severity: str,
    source: str,
    name: str,
    limit: int,
) -> list[asyncpg.Record]:
    """Enabled rules whose every field is the alert's value or ``*``."""
    where = Where().add("enabled").equal("client_id", client_id)
    where.add("severity IN ({}, '*')", severity)
    where.add("source IN ({}, '*')", source)
    where.add("name IN ({}, '*')", name)
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM rules{where.sql()}"
        f" ORDER BY client_id, created_at, rule_id LIMIT {where.arg(limit)}",
        *where.args,
    )
