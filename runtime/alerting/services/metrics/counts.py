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

# A deleted client's rows are not counted from the deletion on, though the purge removes
# them batch by batch (migration 0004's tombstones): an in-flight notification of a
# deleted client may have ended FAILED for want of endpoints, and that is no failure of
# the pipeline. The anti-joins probe a table holding only the purges still running.
COUNTS_SQL = """
SELECT
    (SELECT coalesce(jsonb_object_agg(status, n), '{}'::jsonb)
       FROM (SELECT status, count(*) AS n FROM notifications nt
             WHERE NOT EXISTS (
                 SELECT 1 FROM deleted_clients dc WHERE dc.client_id = nt.client_id)
             GROUP BY status) s)
        AS notifications,
    (SELECT coalesce(jsonb_object_agg(status, n), '{}'::jsonb)
       FROM (SELECT d.status, count(*) AS n FROM deliveries d
             WHERE NOT EXISTS (
                 SELECT 1 FROM notifications nt JOIN deleted_clients dc USING (client_id)
                 WHERE nt.notification_id = d.notification_id)
             GROUP BY d.status) s)
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
