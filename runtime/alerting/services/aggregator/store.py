"""The dedupe boundary: one INSERT ... ON CONFLICT (client_id, alert_id) per batch.

The statement also returns the rows that already existed and are not yet delivered, so
that a batch redelivered after a crash between the INSERT and the publish is published
again; otherwise those notifications would sit in PENDING until the sender's safety-net
poll. Both halves run in one statement: the SELECT half sees the table as it was before
the INSERT, so a row is never reported twice.

The existing rows are looked up per input row by the unique index (LATERAL, ``OFFSET 0``
so the planner cannot flatten it into a join over the table): the work per batch stays
O(batch) whatever the table's size (docs/performance.md, second round).

Only matches at least one of whose rules still exists and is the client's are stored,
with those rules only (``live``): a match already in Kafka when its client was deleted
(the evaluator's snapshot lags a deletion by the outbox and the rule-updater) must not
leave a row behind the deletion's purge, nor land in a re-created client of the same
id, whose rules have new ids. The check is per distinct (client, rule id) of the batch
(``pairs``: a batch names few rules), one primary-key probe of ``rules`` each (LATERAL
with ``OFFSET 0``: never a scan of the rules or of the client's rules, which may be
thousands); only when one is ``gone`` are the rows' rule lists filtered. A per-row
filter cost the aggregator about 25 % of its throughput (docs/performance.md).

The batch runs under the shared ``CLIENT_DELETION_LOCK``, taken in a statement of its own so
that the upsert's snapshot is taken after it: a deletion waits for the batches already
running, whose rows its purge then sees, and the batches after it see the rules gone. A
key-share lock on each client's row would do the same, but writes to that row in every
batch (measured: about 10 % more per statement at 1,000 clients).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from alerting.adapters.postgres import CLIENT_DELETION_LOCK
from alerting.domain.model import AlertMatch

# How long a new notification waits for its NotificationReady before the sender's
# poller claims it anyway (the safety net for a ready message that never arrives).
READY_GRACE = "30 seconds"

UPSERT = f"""
WITH input AS (
    SELECT * FROM unnest(
        $1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
        $7::bigint[], $8::text[]
    ) AS t(client_id, alert_id, severity, source, name, context, event_ts, rule_ids)
), pairs AS MATERIALIZED (
    SELECT DISTINCT i.client_id, u.id
    FROM input i CROSS JOIN LATERAL unnest(string_to_array(i.rule_ids, ',')::uuid[]) AS u(id)
), gone AS MATERIALIZED (
    SELECT p.client_id, p.id FROM pairs p
    LEFT JOIN LATERAL (
        SELECT true AS found FROM rules r
        WHERE r.rule_id = p.id AND r.client_id = p.client_id OFFSET 0
    ) r ON true
    WHERE r.found IS NULL
), live AS MATERIALIZED (
    SELECT i.client_id, i.alert_id, i.severity, i.source, i.name, i.context, i.event_ts,
        CASE WHEN NOT EXISTS (SELECT 1 FROM gone)
            THEN string_to_array(i.rule_ids, ',')::uuid[]
            ELSE ARRAY(
                SELECT u.id FROM unnest(string_to_array(i.rule_ids, ',')::uuid[]) AS u(id)
                WHERE NOT EXISTS (
                    SELECT 1 FROM gone g WHERE g.id = u.id AND g.client_id = i.client_id
                )
            )
        END AS rule_ids
    FROM input i
), inserted AS (
    INSERT INTO notifications (
        notification_id, client_id, alert_id, severity, source, name, context, event_ts,
        rule_ids, status, next_attempt_at
    )
    SELECT gen_random_uuid(), client_id, alert_id, severity, source, name, context::jsonb,
           to_timestamp(event_ts), rule_ids, 'PENDING',
           now() + interval '{READY_GRACE}'
    FROM live WHERE cardinality(rule_ids) > 0
    ON CONFLICT (client_id, alert_id, episode, kind) DO NOTHING
    RETURNING notification_id, client_id, alert_id
)
SELECT notification_id, client_id, alert_id, true AS created FROM inserted
UNION ALL
SELECT n.notification_id, n.client_id, n.alert_id, false
FROM input i
CROSS JOIN LATERAL (
    SELECT notification_id, client_id, alert_id FROM notifications n
    WHERE n.client_id = i.client_id AND n.alert_id = i.alert_id
        AND n.status IN ('PENDING', 'SENDING', 'RETRY')
    OFFSET 0
) n
"""


@dataclass(frozen=True, slots=True)
class Pending:
    """A notification to announce: new, or redelivered and not yet delivered."""

    notification_id: str
    client_id: str
    alert_id: str
    created: bool


def merge(matches: Sequence[AlertMatch]) -> list[AlertMatch]:
    """One match per (client, alert) in the batch, with the union of their rules."""
    merged: dict[tuple[str, str], AlertMatch] = {}
    for m in matches:
        key = (m.client_id, m.alert.alert_id)
        seen = merged.get(key)
        if seen is None:
            merged[key] = m
        elif set(m.rule_ids) - set(seen.rule_ids):
            rule_ids = tuple(sorted(set(seen.rule_ids) | set(m.rule_ids)))
            merged[key] = AlertMatch(seen.alert, seen.client_id, rule_ids)
    return list(merged.values())


# BEGIN and the shared lock in one round trip (a simple query): the batch's upsert is the
# aggregator's every database trip, and each added one is latency per batch.
BEGIN_LOCKED = f"BEGIN; SELECT pg_advisory_xact_lock_shared({CLIENT_DELETION_LOCK})"


async def upsert(pool: asyncpg.Pool[Any], matches: Sequence[AlertMatch]) -> list[Pending]:
    """Store a batch: BEGIN with the shared client deletion lock, the upsert, COMMIT."""
    async with pool.acquire() as conn:
        await conn.execute(BEGIN_LOCKED)
        try:
            pending = await insert_batch(conn, matches)
        except BaseException:
            if not conn.is_closed():
                await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
    return pending


async def insert_batch(conn: Any, matches: Sequence[AlertMatch]) -> list[Pending]:
    """The upsert alone, in ``conn``'s transaction, which holds the shared client
    deletion lock already (``BEGIN_LOCKED``)."""
    rows = await conn.fetch(
        UPSERT,
        [m.client_id for m in matches],
        [m.alert.alert_id for m in matches],
        [m.alert.severity.value for m in matches],
        [m.alert.source for m in matches],
        [m.alert.name for m in matches],
        [json.dumps(dict(m.alert.context)) for m in matches],
        [m.alert.event_ts for m in matches],
        [",".join(m.rule_ids) for m in matches],
    )
    return [
        Pending(str(r["notification_id"]), r["client_id"], r["alert_id"], r["created"])
        for r in rows
    ]
