"""notification_groups and notification_digests, read for the API (the sender writes them).

A page's counts (pending, members, digests) are computed for the page's rows only, in
the statement that fetches them: the page is picked first (``LIMIT`` in a CTE), then
each count is one range probe of ``deliveries_group_idx`` or of the digests' unique
(group_id, seq) index per row of the page, never a per-row round trip.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from alerting.services.rule_service.cursor import Position
from alerting.services.rule_service.repo.sql import Executor, Where

# Not a tombstoned client's, as every notification read (repo/notifications.py LIVE).
LIVE = "NOT EXISTS (SELECT 1 FROM deleted_clients dc WHERE dc.client_id = g.client_id)"
GROUPS = """
WITH page AS (
    SELECT g.group_id, g.client_id, g.rule_id, g.endpoint_id, g.kind, g.labels,
        CASE WHEN g.closed_at IS NULL THEN 'open' ELSE 'closed' END AS state,
        g.opened_at, g.due_at, g.last_flushed_at, g.closed_at, g.flushes
    FROM notification_groups g{where}
    ORDER BY g.opened_at DESC, g.group_id DESC LIMIT {limit}
)
SELECT page.*, e.type AS endpoint_type,
    (SELECT count(*) FROM deliveries d WHERE d.group_id = page.group_id
        AND d.digest_id IS NULL AND d.status = 'GROUPED') AS pending,
    (SELECT count(*) FROM deliveries d WHERE d.group_id = page.group_id) AS members,
    (SELECT count(*) FROM notification_digests nd WHERE nd.group_id = page.group_id)
        AS digests
FROM page LEFT JOIN endpoints e ON e.endpoint_id = page.endpoint_id
ORDER BY page.opened_at DESC, page.group_id DESC
"""
DIGEST_COLUMNS = (
    "digest_id, group_id, seq, is_repeat AS repeat, members, status, attempts, last_error,"
    " response_code, created_at, sent_at"
)
# A digest's members in its order; each one's delivery to the group's endpoint.
MEMBERS = """
SELECT n.notification_id, n.alert_id, n.kind, n.episode, n.severity, n.source, n.name,
    d.status
FROM unnest($1::uuid[]) WITH ORDINALITY AS m(notification_id, position)
JOIN notifications n ON n.notification_id = m.notification_id
LEFT JOIN deliveries d ON d.notification_id = m.notification_id AND d.endpoint_id = $2
ORDER BY m.position
"""


async def page(
    conn: Executor,
    *,
    client_id: str | None,
    rule_id: UUID | None = None,
    endpoint_id: UUID | None = None,
    state: str | None = None,
    after: Position | None = None,
    limit: int,
) -> list[asyncpg.Record]:
    """Groups newest first (opened_at, group_id descending); ``after`` is the last row of
    the previous page."""
    where = Where().equal("g.client_id", client_id).equal("g.rule_id", rule_id)
    where.equal("g.endpoint_id", endpoint_id).add(LIVE)
    if state is not None:
        where.add("g.closed_at IS NULL" if state == "open" else "g.closed_at IS NOT NULL")
    where.after("g.opened_at", "g.group_id", after, "uuid", descending=True)
    sql = GROUPS.format(where=where.sql(), limit=where.arg(limit))
    return await conn.fetch(sql, *where.args)


async def get(conn: Executor, group_id: UUID, owner: str | None) -> asyncpg.Record | None:
    """One group of ``owner`` (any client's for the admin: None), with its counts."""
    where = Where().add("g.group_id = {}", group_id).equal("g.client_id", owner).add(LIVE)
    rows = await conn.fetch(GROUPS.format(where=where.sql(), limit=1), *where.args)
    return rows[0] if rows else None


async def latest_digests(conn: Executor, group_id: UUID, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {DIGEST_COLUMNS} FROM notification_digests WHERE group_id = $1"
        " ORDER BY seq DESC LIMIT $2",
        group_id,
        limit,
    )


async def digest(
    conn: Executor, group: asyncpg.Record, digest_id: UUID
) -> tuple[asyncpg.Record | None, list[asyncpg.Record]]:
    """A digest of ``group`` (None for another group's) and its members."""
    row = await conn.fetchrow(
        f"SELECT {DIGEST_COLUMNS}, notification_ids FROM notification_digests"
        " WHERE digest_id = $1 AND group_id = $2",
        digest_id,
        group["group_id"],
    )
    if row is None:
        return None, []
    return row, await conn.fetch(MEMBERS, row["notification_ids"], group["endpoint_id"])
