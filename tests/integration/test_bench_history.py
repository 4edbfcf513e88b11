"""The `stored` stage's history, loaded into a real, migrated database at a small size:
the rows the pure sizing promises, final statuses only, resolved rows naming their
firing rows, 30 days of created_at, and progress lines while it loads."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from alerting.bench import history, stored
from alerting.bench.plan import FULL
from alerting.config import Settings
from tests.integration.rule_service_support import fresh_database

pytestmark = pytest.mark.integration

ROWS = 4_000  # 20 whole cycles of the 200-row pattern: the sizing is exact


async def test_the_history_loads_final_rows_over_thirty_days(settings: Settings) -> None:
    plan = dataclasses.replace(FULL, stored_notifications=ROWS)
    lines: list[str] = []
    async with fresh_database(settings) as db:
        began = datetime.now(UTC)
        case = await stored.load(db.postgres_dsn, plan, lines.append)
        conn = await asyncpg.connect(db.postgres_dsn)
        try:
            counts = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in stored.TABLES}
            statuses = dict(
                await conn.fetch("SELECT status, count(*) FROM notifications GROUP BY 1")
            )
            resolved = await conn.fetchrow(
                "SELECT count(*) AS n, count(f.notification_id) AS named,"
                " count(*) FILTER (WHERE f.kind = 'firing' AND f.alert_id = r.alert_id"
                "  AND f.client_id = r.client_id) AS same_alert"
                " FROM notifications r LEFT JOIN notifications f"
                "  ON f.notification_id = r.firing_id WHERE r.kind = 'resolved'"
            )
            oldest, newest = await conn.fetchrow(
                "SELECT min(created_at), max(created_at) FROM notifications"
            )
            clients = await conn.fetchval("SELECT count(DISTINCT client_id) FROM notifications")
            analyzed = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_user_tables"
                " WHERE relname = ANY($1::text[]) AND last_analyze IS NOT NULL",
                list(stored.TABLES),
            )
        finally:
            await conn.close()
    per = history.rows_per_notification()
    assert counts == {t: round(ROWS * per[t]) for t in stored.TABLES}
    assert statuses == {"SENT": 3720, "FAILED": 200, "SUPPRESSED": 80}
    assert dict(resolved) == {"n": 400, "named": 400, "same_alert": 400}
    assert clients == 400  # one client per block of ten, up to HISTORY_CLIENTS
    assert began - timedelta(days=30, seconds=5) <= oldest < began - timedelta(days=29)
    assert newest <= began
    assert analyzed == 3
    assert case["items"] == ROWS and case["rows"] == sum(counts.values())
    assert case["bytes"] > 0 and case["per_s"] > 0
    assert lines[0] == "history: loading 4,000 notifications over 30 days"
    assert any(line.startswith("history: 4,000 of 4,000 notifications (") for line in lines)


# New rows smaller than a history row, as the bench's own are. On a heap written once in
# final state (packed) they land on new pages at the end, or on an old page each where a
# page's leftover takes one (which of the two depends on a few bytes of row size); on
# one with production's free space, together on a few old pages.
NEW_ROWS = """
INSERT INTO notifications (notification_id, client_id, alert_id, severity, source, name,
    context, event_ts, rule_ids, status, attempts, next_attempt_at, created_at,
    updated_at, kind, episode)
SELECT gen_random_uuid(), h.client_id, 'new-' || g, h.severity, 's', 'n', '{}', now(),
    h.rule_ids, 'PENDING', 0, now(), now(), now(), 'firing', 1
FROM (SELECT * FROM notifications LIMIT 1) h, generate_series(1, 200) g
RETURNING (ctid::text::point)[0]::int
"""


async def test_new_rows_share_a_few_old_pages_as_on_a_production_heap(
    settings: Settings,
) -> None:
    plan = dataclasses.replace(FULL, stored_notifications=ROWS)
    async with fresh_database(settings) as db:
        await stored.load(db.postgres_dsn, plan, lambda _: None)
        conn = await asyncpg.connect(db.postgres_dsn)
        try:
            fillfactor = await conn.fetchval(history.FILLFACTOR)
            pages = await conn.fetchval("SELECT pg_relation_size('notifications') / 8192")
            blocks = {r[0] for r in await conn.fetch(NEW_ROWS)}
        finally:
            await conn.close()
    assert fillfactor is None  # the schema's, restored after the load
    # the room the history left in its pages (history.FILL), recorded by the VACUUM:
    # 200 new rows on a handful of the old pages
    assert len(blocks) <= 20
    assert all(b < pages for b in blocks)
