"""rule_outbox rows, written inside the caller's transaction.

The row and the rule change commit or roll back together, so the relay can never
publish a change that did not happen nor miss one that did. ``pg_notify`` is
transactional too: the relay is woken only when the commit is visible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from alerting.domain.model import ChangedEntity, RuleAction
from alerting.services.rule_service.repo.sql import Conn

CHANNEL = "rule_outbox"


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    rule_id: UUID
    client_id: str
    action: RuleAction
    version: int
    entity: ChangedEntity = ChangedEntity.RULE  # SILENCE: rule_id holds the silence id


async def record(conn: Conn, entries: Sequence[OutboxEntry]) -> None:
    if not entries:
        return
    assert conn.is_in_transaction(), "outbox rows must share the rule change's transaction"
    await conn.execute(
        "INSERT INTO rule_outbox (rule_id, client_id, action, version, entity)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::text[])",
        [e.rule_id for e in entries],
        [e.client_id for e in entries],
        [e.action.value for e in entries],
        [e.version for e in entries],
        [e.entity.value for e in entries],
    )
    await conn.execute("SELECT pg_notify($1, '')", CHANNEL)
