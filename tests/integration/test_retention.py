"""Retention (issue 16, item 2): what a pass removes and keeps, batch by batch, with
an injected clock: rows are written with the ages a test needs, and the pass is told
what "now" is, so no test waits for days."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from alerting.services.rule_service.retention import Retention
from tests.integration.retention_support import *  # noqa: F403
from tests.integration.retention_support import (
    Pool,
    close_episodes,
    counts,
    days_before,
    existing,
    resolved_of,
    seed,
    seed_outbox,
)
from tests.integration.sender_support import insert_resolved, seed_rule

pytestmark = pytest.mark.integration

NOW = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)
DAYS = 30


def retention(pool: Pool, now: datetime, batch_size: int = 1000, pause_s: float = 0) -> Retention:
    return Retention(pool, DAYS, batch_size=batch_size, pause_s=pause_s, clock=lambda: now)


def metric(name: str, table: str) -> float:
    return REGISTRY.get_sample_value(name, {"table": table}) or 0.0


async def test_a_pass_removes_exactly_the_settled_rows_past_the_cutoff(pool: Pool) -> None:
    cid = f"ret-{uuid.uuid4().hex[:8]}"
    rule = await seed_rule(pool, cid)
    old, young = days_before(NOW, DAYS + 1), days_before(NOW, DAYS - 1)
    # Closed episodes, settled and older than the retention: removed, the firing rows
    # with 2 deliveries x 3 attempts each, and their resolved rows.
    gone = [
        await seed(pool, cid, rule, old, status, deliveries=2, attempts_each=3, closed=True)
        for status in ("SENT", "SENT", "FAILED")
    ]
    gone += await resolved_of(pool, gone)
    muted = await seed(pool, cid, rule, old, "SUPPRESSED", deliveries=0, silence_id=uuid.uuid4())
    await pool.execute(
        "UPDATE notifications SET suppression_settled_at = $2 WHERE notification_id = $1::uuid",
        muted, old,
    )  # fmt: skip
    muted_resolved = await insert_resolved(
        pool, muted, status="SUPPRESSED", created_at=old, silence_id=uuid.uuid4()
    )
    gone += [muted, muted_resolved]
    # Older than the retention but in flight, due, or still to release: kept.
    kept = [
        await seed(pool, cid, rule, old, status, deliveries=1, attempts_each=1)
        for status in ("PENDING", "RETRY", "SENDING")
    ]
    kept.append(await seed(pool, cid, rule, old, "SUPPRESSED", deliveries=0,
                           silence_id=uuid.uuid4()))  # fmt: skip
    # A delivered firing whose resolved is still to deliver: the resolved goes where the
    # firing went (its deliveries), so the firing stays until the resolved is settled.
    waited_for = await seed(pool, cid, rule, old, "SENT", deliveries=1, attempts_each=1)
    waiting = await insert_resolved(pool, waited_for, status="PENDING", created_at=old)
    kept += [waited_for, waiting]
    # An open episode (no resolved row yet: the alert still fires): kept, however old.
    still_firing = await seed(pool, cid, rule, old, "SENT", deliveries=1, attempts_each=1)
    # Settled but younger than the retention: kept (until the clock moves on).
    young_ids = [await seed(pool, cid, rule, young, "SENT", deliveries=1, attempts_each=1,
                            closed=True)]  # fmt: skip
    young_ids += await resolved_of(pool, young_ids)
    old_published = [await seed_outbox(pool, old, True) for _ in range(3)]
    await seed_outbox(pool, old, False)  # the relay's still: kept
    await seed_outbox(pool, young, True)
    before = await counts(pool)
    removed_metric = metric("alerting_retention_removed_total", "delivery_attempts")

    done = await retention(pool, NOW).run_pass()

    assert (done.notifications, done.deliveries, done.delivery_attempts) == (8, 6, 18)
    assert done.rule_outbox == len(old_published) == 3
    assert await counts(pool) == {
        "notifications": before["notifications"] - 8,
        "deliveries": before["deliveries"] - 6,
        "delivery_attempts": before["delivery_attempts"] - 18,
        "rule_outbox": before["rule_outbox"] - 3,
    }
    assert await existing(pool, gone) == set()
    assert await existing(pool, [*kept, still_firing, *young_ids]) == {
        *kept,
        still_firing,
        *young_ids,
    }
    assert metric("alerting_retention_removed_total", "delivery_attempts") == removed_metric + 18
    assert REGISTRY.get_sample_value("alerting_retention_last_run_timestamp_seconds")

    # The resolved is delivered: its firing may go. Two days later the young row is old.
    await pool.execute(
        "UPDATE notifications SET status = 'SENT' WHERE notification_id = $1::uuid", waiting
    )
    later = await retention(pool, NOW + timedelta(days=2)).run_pass()
    assert (later.notifications, later.deliveries, later.delivery_attempts) == (4, 2, 2)
    assert later.rule_outbox == 1
    assert await existing(pool, kept) == set(kept[:4])
    assert await existing(pool, [still_firing]) == {still_firing}
    assert await existing(pool, young_ids) == set()


async def test_rows_go_in_batches_each_committed_on_its_own(pool: Pool) -> None:
    cid = f"ret-{uuid.uuid4().hex[:8]}"
    rule = await seed_rule(pool, cid)
    episodes, batch = 125, 100  # 250 rows: each episode's firing and resolved rows
    firing = await pool.fetch(
        "INSERT INTO notifications (notification_id, client_id, alert_id, severity, source,"
        " name, event_ts, rule_ids, status, created_at)"
        " SELECT gen_random_uuid(), $1, 'a' || i, 'HIGH', 'db', 'disk', now(),"
        " ARRAY[$2::uuid], 'SENT', $3::timestamptz - make_interval(secs => 2 * i)"
        " FROM generate_series(1, $4) AS i RETURNING notification_id::text",
        cid, uuid.UUID(rule), days_before(NOW, DAYS + 1), episodes,
    )  # fmt: skip
    assert await close_episodes(pool, [r[0] for r in firing]) == episodes
    seen: set[int] = {await pool.fetchval("SELECT count(*) FROM notifications")}
    finished = asyncio.Event()

    async def watch() -> None:
        # Another connection sees each batch's commit: the count steps down by a batch.
        while not finished.is_set():
            seen.add(await pool.fetchval("SELECT count(*) FROM notifications"))
            await asyncio.sleep(0.01)

    batches_before = REGISTRY.get_sample_value(
        "alerting_retention_batches_total", {"table": "notifications"}
    )
    watcher = asyncio.create_task(watch())
    try:
        done = await retention(pool, NOW, batch_size=batch, pause_s=0.3).run_pass()
    finally:
        finished.set()
        await watcher
    assert done.batch_rows == [100, 100, 50]
    assert {250, 150, 50} <= seen, seen
    assert seen <= {250, 150, 50, 0}
    batches_after = REGISTRY.get_sample_value(
        "alerting_retention_batches_total", {"table": "notifications"}
    )
    assert batches_after == (batches_before or 0) + 3
    assert await counts(pool) == dict.fromkeys(("notifications", "deliveries",
                                                "delivery_attempts", "rule_outbox"), 0)  # fmt: skip


async def test_a_row_being_written_is_left_for_a_later_pass_without_waiting(
    pool: Pool, own_pool: Pool
) -> None:
    cid = f"ret-{uuid.uuid4().hex[:8]}"
    rule = await seed_rule(pool, cid)
    old = days_before(NOW, DAYS + 1)
    ids = [await seed(pool, cid, rule, old, "FAILED", closed=True) for _ in range(3)]
    conn: asyncpg.Connection[Any]
    async with own_pool.acquire() as conn, conn.transaction():
        # A sender's outcome write (or a re-drive) holds this row right now.
        await conn.execute(
            "SELECT 1 FROM notifications WHERE notification_id = $1::uuid FOR KEY SHARE", ids[0]
        )
        done = await asyncio.wait_for(retention(pool, NOW).run_pass(), 10)
        # Two episodes go; the held firing row and its resolved row wait (a resolved
        # row never goes before its firing row).
        assert done.notifications == 4
        assert await existing(pool, ids) == {ids[0]}
        assert len(await existing(pool, await resolved_of(pool, ids))) == 1
    assert (await retention(pool, NOW).run_pass()).notifications == 2
    assert await existing(pool, ids) == set()


async def test_replicas_running_at_once_remove_each_row_once(pool: Pool) -> None:
    cid = f"ret-{uuid.uuid4().hex[:8]}"
    rule = await seed_rule(pool, cid)
    old = days_before(NOW, DAYS + 5)
    ids = [await seed(pool, cid, rule, old, "SENT", attempts_each=1, closed=True)
           for _ in range(60)]  # fmt: skip
    passes = [retention(pool, NOW, batch_size=7, pause_s=0.01) for _ in range(3)]
    results = await asyncio.gather(*(p.run_pass() for p in passes))
    # Two replicas may end a pass early on a short batch (rows another one holds); the
    # next pass of any replica then finishes the rest.
    results.append(await passes[0].run_pass())
    assert sum(r.notifications for r in results) == 120  # each firing and resolved row
    assert sum(r.deliveries for r in results) == 60
    assert sum(r.delivery_attempts for r in results) == 60
    assert all(rows <= 7 for r in results for rows in r.batch_rows)
    assert await existing(pool, ids) == set()
