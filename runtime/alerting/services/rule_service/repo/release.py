"""The release of suppressed notifications (``releaser.py``): the statements.

Only unsettled SUPPRESSED firing rows are looked at (``notifications_release_idx``,
migration 0006): a row whose episode was resolved while suppressed is settled the first
time it is seen under an inactive silence, and never read again.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from alerting.services.rule_service.repo.sql import Conn, Executor

RELEASABLE = "status = 'SUPPRESSED' AND kind = 'firing' AND suppression_settled_at IS NULL"
# The distinct silences of the unsettled rows, one index probe each (a loose index scan):
# the cost follows the silences, however many rows each one holds.
CANDIDATES = f"""
WITH RECURSIVE ids AS (
    (SELECT silence_id FROM notifications
     WHERE {RELEASABLE} AND silence_id > $1 ORDER BY silence_id LIMIT 1)
    UNION ALL
    SELECT (SELECT n.silence_id FROM notifications n
            WHERE n.{RELEASABLE.replace(" AND ", " AND n.")} AND n.silence_id > ids.silence_id
            ORDER BY n.silence_id LIMIT 1)
    FROM ids WHERE ids.silence_id IS NOT NULL
)
SELECT silence_id FROM ids WHERE silence_id IS NOT NULL LIMIT $2
"""
# Below every uuid: where the first page of candidates starts.
FIRST = UUID(int=0)
# SKIP LOCKED: a row the aggregator holds while it writes the episode's resolved row (it
# share-locks the firing row to read its status) is taken by a later pass. ``resolved``
# is only a hint (it spares the index of silences for rows already settled): it is read
# in this statement's snapshot, and a resolved row the aggregator committed after that
# snapshot but before the lock was taken (a share lock held, not an update, so nothing
# makes the lock re-read) is not seen. APPLY decides again after the lock.
LOCK_BATCH = f"""
SELECT n.notification_id, n.client_id, n.silence_id, n.severity, n.source, n.name, n.context,
    EXISTS (SELECT 1 FROM notifications r WHERE r.firing_id = n.notification_id) AS resolved
FROM notifications n
WHERE n.silence_id = ANY($1::uuid[]) AND n.{RELEASABLE.replace(" AND ", " AND n.")}
LIMIT $2
FOR UPDATE OF n SKIP LOCKED
"""
RELEASE, KEEP, SETTLE = "release", "keep", "settle"
# One statement for the batch's decisions, with a fresh snapshot taken after LOCK_BATCH
# locked the rows: an episode resolved now (whatever LOCK_BATCH read) is settled, never
# released. The aggregator's resolved inserts either committed before the lock (seen
# here) or wait for this transaction and then read the row's new status. Released rows
# become due at once (the sender's poller takes them), kept ones name the silence that
# still mutes them. Returns what became of each row.
APPLY = """
WITH d AS (
    SELECT u.id, u.silence_id,
        CASE WHEN EXISTS (SELECT 1 FROM notifications r WHERE r.firing_id = u.id)
            THEN 'settle' ELSE u.action END AS action
    FROM unnest($1::uuid[], $2::text[], $3::uuid[]) AS u(id, action, silence_id)
)
UPDATE notifications n SET
    status = CASE WHEN d.action = 'release' THEN 'PENDING' ELSE n.status END,
    next_attempt_at = CASE WHEN d.action = 'release' THEN now() ELSE n.next_attempt_at END,
    silence_id = CASE WHEN d.action = 'keep' THEN d.silence_id ELSE n.silence_id END,
    suppression_settled_at = CASE WHEN d.action = 'settle' THEN now() END,
    updated_at = now()
FROM d
WHERE n.notification_id = d.id
RETURNING n.notification_id, d.action, n.silence_id
"""


async def candidates(conn: Executor, after: UUID, limit: int) -> list[UUID]:
    """Up to ``limit`` silences holding unsettled rows, in id order after ``after``."""
    return [r["silence_id"] for r in await conn.fetch(CANDIDATES, after, limit)]


async def lock_batch(conn: Conn, silence_ids: Sequence[UUID], limit: int) -> list[asyncpg.Record]:
    """Inside a transaction: lock up to ``limit`` unsettled rows of these silences."""
    return await conn.fetch(LOCK_BATCH, list(silence_ids), limit)


async def apply(
    conn: Conn, decisions: Sequence[tuple[UUID, str, UUID | None]]
) -> list[asyncpg.Record]:
    """Inside the transaction of ``lock_batch``: write the decisions (an episode resolved
    meanwhile is settled instead); each row's id, action and silence as written."""
    return await conn.fetch(
        APPLY,
        [d[0] for d in decisions],
        [d[1] for d in decisions],
        [d[2] for d in decisions],
    )
