"""Row counts from Postgres, in one round trip.

Exact ``count(*)`` per status scans the notifications table; that is fine at the sizes
this build runs at and happens in the background sampler, never in a request. When
the table grows past that, switch to a counters table maintained by the writers.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from alerting.services.metrics.compute import (
    DELIVERY_STATUSES,
    NOTIFICATION_STATUSES,
    fill_statuses,
)

COUNTS_SQL = """
SELECT
    (SELECT coalesce(jsonb_object_agg(status, n), '{}'::jsonb)
       FROM (SELECT status, count(*) AS n FROM notifications GROUP BY status) s)
        AS notifications,
    (SELECT coalesce(jsonb_object_agg(status, n), '{}'::jsonb)
       FROM (SELECT status, count(*) AS n FROM deliveries GROUP BY status) s)
        AS deliveries,
    (SELECT count(*) FROM rules) AS rules_total,
    (SELECT count(*) FILTER (WHERE enabled) FROM rules) AS rules_enabled,
    (SELECT count(*) FROM clients) AS clients
"""


async def read_counts(pool: asyncpg.Pool[Any]) -> dict[str, Any]:
    """The ``notifications``, ``deliveries``, ``rules`` and ``clients`` parts of the report."""
    row = await pool.fetchrow(COUNTS_SQL)
    assert row is not None  # a SELECT without FROM always yields one row
    return {
        "notifications": fill_statuses(row["notifications"], NOTIFICATION_STATUSES),
        "deliveries": fill_statuses(row["deliveries"], DELIVERY_STATUSES),
        "rules": {"total": row["rules_total"], "enabled": row["rules_enabled"]},
        "clients": row["clients"],
    }
