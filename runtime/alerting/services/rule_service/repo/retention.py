"""Retention: removing settled notifications and published outbox rows past their age.

Each batch is one short transaction of two statements, like the silence release
(``repo/release.py``): the first locks up to ``limit`` candidate rows, oldest first,
``FOR UPDATE SKIP LOCKED``; the second deletes those of them that may go, in a fresh
snapshot (READ COMMITTED: each statement sees what committed before it began). So a
row a sender, the releaser, a re-drive or the aggregator is writing right now is left
for a later pass instead of waited for, and nothing committed between the two
statements can be missed: see ``DELETE_NOTIFICATIONS``.

Deliveries and delivery attempts go with their notification (``ON DELETE CASCADE``,
migrations 0001 and 0009); the statement counts them first, from the same snapshot,
for the metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from alerting.services.rule_service.repo.sql import Conn

# What "settled" means: the row will never be claimed, released or re-sent by the
# pipeline on its own. SENT and FAILED are final (a FAILED row may still be re-driven
# by hand: the re-drive's UPDATE and this lock exclude each other, see the module
# docstring). A SUPPRESSED row is settled when it is a resolved row (never sent) or a
# firing row the releaser has settled (``suppression_settled_at``); an unsettled one may
# still be delivered when its silence ends, however old it is. PENDING, SENDING, RETRY
# and GROUPED (waiting for its group's digest) rows are in flight or due: never removed.
SETTLED = """(
    status IN ('SENT', 'FAILED')
    OR (status = 'SUPPRESSED' AND (kind = 'resolved' OR suppression_settled_at IS NOT NULL))
)"""
# Oldest first, by the (created_at, notification_id) index of migration 0002, from the
# pass's keyset cursor: the index range ends at the cutoff, so a batch reads about
# ``limit`` rows plus the old unsettled ones between cursor and cutoff, never the table.
LOCK_NOTIFICATIONS = f"""
SELECT notification_id, created_at FROM notifications
WHERE (created_at, notification_id) > ($1, $2) AND created_at < $3 AND {SETTLED}
ORDER BY created_at, notification_id
LIMIT $4
FOR UPDATE SKIP LOCKED
"""
# The locked rows that still may go. A firing row goes only with a resolved row of its
# episode, and none still to deliver:
# - With none at all, the episode is open (the alert still fires): its source's re-sends
#   write nothing (they are de-duplicated against this row), so the row's created_at
#   never moves. Removed, the next re-send would open a new episode 1 and page again,
#   every retention period, and the real resolved would find no episode to close. So an
#   episode that never resolves is kept, however old (docs/operations.md, "Retention").
# - With one still to deliver, the sender sends it only to the endpoints the firing
#   reached (their deliveries rows): with the firing gone it would reach nobody.
# A resolved row goes only with or after its firing row (that row gone, or in this
# batch): removed first, say while its firing row was locked by a re-drive and skipped,
# it would leave that firing row with no resolved row, kept forever as an open episode.
# The checks run in this statement's fresh snapshot, so a resolved row committed after
# the lock above is seen; one the aggregator is writing now waits for this transaction
# instead (it reads the firing row FOR SHARE), then finds the firing gone and makes
# nothing, as for any resolved without an open episode (docs/lifecycle.md).
#
# Each check is a scalar subquery per locked id, never (NOT) EXISTS: Postgres turns those
# into (anti) joins that read every resolved row's firing_id (and then the table, to
# match a thousand ids). A firing id is one probe of notifications_firing_idx (its
# episode's resolved row: at most one, migration 0006), a resolved row's firing_id one
# probe of the primary key; the ids' array from a subquery is probed by primary key.
DELETE_NOTIFICATIONS = f"""
WITH gone AS (
    DELETE FROM notifications n
    WHERE n.notification_id = ANY(ARRAY(
        SELECT x.id FROM unnest($1::uuid[]) AS x(id)
        WHERE coalesce((
            SELECT count(*) > 0 AND count(*) FILTER (
                WHERE r.status IN ('PENDING', 'SENDING', 'RETRY', 'GROUPED')) = 0
            FROM notifications r WHERE r.firing_id = x.id
        ), false)
        OR coalesce((
            SELECT k.firing_id = ANY($1::uuid[]) OR coalesce((
                SELECT false FROM notifications f WHERE f.notification_id = k.firing_id
            ), true)
            FROM notifications k WHERE k.notification_id = x.id AND k.kind = 'resolved'
        ), false)
    )) AND {SETTLED}
    RETURNING n.notification_id
)
SELECT
    (SELECT count(*) FROM gone) AS notifications,
    (SELECT count(*) FROM deliveries d
        WHERE d.notification_id IN (SELECT notification_id FROM gone)) AS deliveries,
    (SELECT count(*) FROM delivery_attempts a
        WHERE a.notification_id IN (SELECT notification_id FROM gone)) AS delivery_attempts
"""
# The outbox by its primary key, a window of ``limit`` rows after the cursor: rows are
# written in outbox_id order and published in that order, so the old published rows are
# the head of the table. A window holding a row not older than the cutoff ends the pass;
# an unpublished row is the relay's and stays (it is never older than a few seconds
# unless the broker is down, and then it must still go out). SKIP LOCKED: another
# replica's batch over the same window is not waited for.
DELETE_OUTBOX = """
WITH window_rows AS MATERIALIZED (
    SELECT outbox_id, created_at, published_at FROM rule_outbox
    WHERE outbox_id > $1 ORDER BY outbox_id LIMIT $3
), gone AS (
    DELETE FROM rule_outbox o
    WHERE o.outbox_id = ANY(ARRAY(
        SELECT r.outbox_id FROM rule_outbox r
        WHERE r.outbox_id = ANY(ARRAY(SELECT outbox_id FROM window_rows))
            AND r.published_at IS NOT NULL AND r.created_at < $2
        FOR UPDATE SKIP LOCKED
    ))
    RETURNING o.outbox_id
)
SELECT (SELECT count(*) FROM gone) AS removed,
    (SELECT max(outbox_id) FROM window_rows) AS last_id,
    (SELECT count(*) FROM window_rows) AS seen,
    coalesce((SELECT bool_or(created_at >= $2) FROM window_rows), false) AS reached_cutoff
"""

# Closed groups by closed_at, their digests by cascade (counted first, from the same
# snapshot). An open group is never removed, however old: its members still wait. A
# closed group never reopens (the next member opens a new one), so deleting one races
# with nothing but another replica's batch (SKIP LOCKED). Removed rows are gone from the
# next window, so no cursor is needed; a window of rows held by others ends the pass.
# notification_groups_closed_idx holds only closed groups, in this order: a pass reads
# its batch, never the open groups or the whole table.
DELETE_GROUPS = """
WITH gone AS (
    DELETE FROM notification_groups g
    WHERE g.group_id = ANY(ARRAY(
        SELECT c.group_id FROM notification_groups c
        WHERE c.closed_at IS NOT NULL AND c.closed_at < $1
        ORDER BY c.closed_at, c.group_id LIMIT $2
        FOR UPDATE SKIP LOCKED
    ))
    RETURNING g.group_id
)
SELECT (SELECT count(*) FROM gone) AS groups,
    (SELECT count(*) FROM notification_digests nd
        WHERE nd.group_id IN (SELECT group_id FROM gone)) AS digests
"""

FIRST_ID = UUID(int=0)


@dataclass(frozen=True)
class NotificationBatch:
    """One batch: the rows it locked (the cursor moves past them) and what it removed."""

    locked: int
    cursor: tuple[datetime, UUID] | None
    notifications: int = 0
    deliveries: int = 0
    delivery_attempts: int = 0


@dataclass(frozen=True)
class OutboxBatch:
    removed: int
    last_id: int | None
    done: bool


async def delete_notifications(
    conn: Conn, after: tuple[datetime, UUID], cutoff: datetime, limit: int
) -> NotificationBatch:
    """Lock and delete one batch of settled notifications created before ``cutoff``,
    after the cursor ``after``; the caller holds the transaction."""
    rows = await conn.fetch(LOCK_NOTIFICATIONS, after[0], after[1], cutoff, limit)
    if not rows:
        return NotificationBatch(0, None)
    last = rows[-1]
    counts = await conn.fetchrow(DELETE_NOTIFICATIONS, [r["notification_id"] for r in rows])
    assert counts is not None
    return NotificationBatch(
        len(rows),
        (last["created_at"], last["notification_id"]),
        counts["notifications"],
        counts["deliveries"],
        counts["delivery_attempts"],
    )


@dataclass(frozen=True)
class GroupBatch:
    groups: int
    digests: int


async def delete_groups(conn: Conn, cutoff: datetime, limit: int) -> GroupBatch:
    """Delete up to ``limit`` groups closed before ``cutoff``, with their digests."""
    row = await conn.fetchrow(DELETE_GROUPS, cutoff, limit)
    assert row is not None
    return GroupBatch(row["groups"], row["digests"])


async def delete_outbox(conn: Conn, after_id: int, cutoff: datetime, limit: int) -> OutboxBatch:
    """Delete the published rows created before ``cutoff`` among the next ``limit``
    outbox rows after ``after_id``."""
    row = await conn.fetchrow(DELETE_OUTBOX, after_id, cutoff, limit)
    assert row is not None
    done = row["reached_cutoff"] or row["seen"] < limit
    return OutboxBatch(row["removed"], row["last_id"], done)
