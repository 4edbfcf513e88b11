"""Purging a deleted client's notifications: small batches, one short transaction each.

A deleted client leaves a tombstone (``deleted_clients``, migration 0004) that hides its
notifications from the API and the metrics at once; these statements then delete them
``limit`` rows at a time (their deliveries by ``ON DELETE CASCADE``; the delivery
attempts of issue 16 by a cascade from notifications too) and drop the tombstone when
none is left. A tenant of millions of rows is thus never one long transaction holding
millions of row locks, and the pipeline keeps running beside the purge.
"""

from __future__ import annotations

from alerting.services.rule_service.repo.sql import Executor

# SKIP LOCKED: a row a sender is writing right now (its claim, or its outcome, which
# key-share locks the row) is left for the next batch instead of waited for. The purge
# thus never waits on the pipeline, and never deadlocks with a sender's outcome write
# that locks the same rows in another order. The client's rows are found by the
# (client_id, ...) indexes; the DELETE takes the locked rows by ctid.
PURGE_BATCH = """
DELETE FROM notifications
WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM notifications WHERE client_id = $1 {only} LIMIT $2 FOR UPDATE SKIP LOCKED
))
"""
# The rows a sender would still claim go first: a large tenant's pending and due retries
# are gone within the DELETE request instead of being claimed (and ending FAILED for
# want of endpoints) while the purge works through its history. GROUPED rows too: a
# flusher would deliver them in their group's next digest.
ACTIVE = "AND status IN ('PENDING', 'SENDING', 'RETRY', 'GROUPED')"
# The tombstone goes only when no row is left. No row can appear after the delete
# committed (see repo/clients.delete), so "none left" stays true.
FINISH = """
DELETE FROM deleted_clients d
WHERE d.client_id = $1
    AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.client_id = d.client_id)
"""


async def pending(conn: Executor, limit: int) -> list[str]:
    """Tombstoned client ids, the oldest deletion first."""
    rows = await conn.fetch(
        "SELECT client_id FROM deleted_clients ORDER BY deleted_at, client_id LIMIT $1", limit
    )
    return [r["client_id"] for r in rows]


async def delete_batch(conn: Executor, client_id: str, limit: int, *, active: bool) -> int:
    """Delete up to ``limit`` of the client's notifications (``active``: only those a
    sender may still claim); return how many went."""
    status = await conn.execute(PURGE_BATCH.format(only=ACTIVE if active else ""), client_id, limit)
    return int(status.rsplit(" ", 1)[-1])


async def finish(conn: Executor, client_id: str) -> bool:
    """Drop the tombstone if no notification is left; True when it is gone."""
    status = await conn.execute(FINISH, client_id)
    if status.endswith(" 1"):
        return True
    still = await conn.fetchval("SELECT 1 FROM deleted_clients WHERE client_id = $1", client_id)
    return still is None
