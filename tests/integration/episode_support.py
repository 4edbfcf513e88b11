"""Events and stored rows for the aggregator's episode tests (real Postgres)."""

from __future__ import annotations

import uuid
from typing import Any, TypeAlias

import asyncpg

from alerting.domain.model import Alert, AlertMatch, AlertStatus, Severity

Pool: TypeAlias = "asyncpg.Pool[Any]"
F, R = AlertStatus.FIRING, AlertStatus.RESOLVED
T0 = 1_700_000_000


def new_client() -> str:
    return f"ep-{uuid.uuid4().hex[:10]}"


def event(
    client: str,
    alert_id: str,
    status: AlertStatus,
    ts: int,
    *rules: str,
    silences: tuple[str, ...] = (),
    context: dict[str, str] | None = None,
) -> AlertMatch:
    """One match of the alert for the client, ``ts`` seconds after T0."""
    alert = Alert(alert_id, Severity.HIGH, "db", "disk", T0 + ts, context or {}, status)
    return AlertMatch(alert, client, rules, silences)


STORED = """
SELECT notification_id::text AS id, alert_id, episode, kind, status,
       firing_id::text AS firing_id, silence_id::text AS silence_id,
       rule_ids::text[] AS rule_ids, extract(epoch FROM event_ts)::bigint - $2 AS ts,
       context, next_attempt_at - now() AS due_in
FROM notifications WHERE client_id = $1 ORDER BY alert_id, episode, kind
"""


async def stored(pool: Pool, client: str) -> list[asyncpg.Record]:
    """The client's rows, per alert in episode order (firing before resolved)."""
    return await pool.fetch(STORED, client, T0)


async def shape(pool: Pool, client: str) -> list[tuple[str, int, str]]:
    """(alert, episode, kind) of the client's rows."""
    return [(r["alert_id"], r["episode"], r["kind"]) for r in await stored(pool, client)]


async def lock_waiters(pool: Pool) -> int:
    """Sessions of this database waiting for a row or transaction lock."""
    count: int = await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return count
