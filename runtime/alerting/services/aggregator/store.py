"""The dedupe boundary: one INSERT ... ON CONFLICT (client_id, alert_id) per batch.

The statement also returns the rows that already existed and are not yet delivered, so
that a batch redelivered after a crash between the INSERT and the publish is published
again; otherwise those notifications would sit in PENDING until the sender's safety-net
poll. Both halves run in one statement: the SELECT half sees the table as it was before
the INSERT, so a row is never reported twice.

The existing rows are looked up per input row by the unique index (LATERAL, ``OFFSET 0``
so the planner cannot flatten it into a join over the table): the work per batch stays
O(batch) whatever the table's size (docs/performance.md, second round).

Only matches whose client still exists and at least one of whose rules is still that
client's are stored, with those rules only (``checked``, ``live``): a match already in Kafka when its client was deleted
(the evaluator's snapshot lags a deletion by the outbox and the rule-updater) must not
leave a row behind the deletion's purge, nor land in a re-created client of the same
id, whose rules have new ids. The client row is key-share locked, as inserting a rule
does: a deletion (which locks it FOR UPDATE) waits for a batch that got there first, so
the purge that follows it sees that batch's rows; a batch that comes second finds no
client and stores nothing. Each input row costs a primary-key probe of ``clients`` and
of ``rules`` per rule id (docs/performance.md, client deletion).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

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
), checked AS (
    SELECT i.client_id, i.alert_id, i.severity, i.source, i.name, i.context, i.event_ts,
        ARRAY(
            SELECT u.id FROM unnest(string_to_array(i.rule_ids, ',')::uuid[])
                WITH ORDINALITY AS u(id, k)
            WHERE EXISTS (
                SELECT 1 FROM rules r WHERE r.rule_id = u.id AND r.client_id = i.client_id
            )
            ORDER BY u.k
        ) AS rule_ids
    FROM input i
    CROSS JOIN LATERAL (
        SELECT 1 FROM clients c WHERE c.client_id = i.client_id FOR KEY SHARE
    ) c
), live AS (
    SELECT * FROM checked WHERE cardinality(rule_ids) > 0
), inserted AS (
    INSERT INTO notifications (
        notification_id, client_id, alert_id, severity, source, name, context, event_ts,
        rule_ids, status, next_attempt_at
    )
    SELECT gen_random_uuid(), client_id, alert_id, severity, source, name, context::jsonb,
           to_timestamp(event_ts), rule_ids, 'PENDING',
           now() + interval '{READY_GRACE}'
    FROM live
    ON CONFLICT (client_id, alert_id) DO NOTHING
    RETURNING notification_id, client_id, alert_id
)
SELECT notification_id, client_id, alert_id, true AS created FROM inserted
UNION ALL
SELECT n.notification_id, n.client_id, n.alert_id, false
FROM live i
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


async def upsert(pool: asyncpg.Pool[Any], matches: Sequence[AlertMatch]) -> list[Pending]:
    rows = await pool.fetch(
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
