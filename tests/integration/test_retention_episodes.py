"""The dedupe boundary past the retention (docs/operations.md, "Retention"): an alert
whose closed episodes were removed has nothing left to be de-duplicated against, so its
next firing opens a new episode 1 (a new notification, delivered again). An open
episode (a firing row without its resolved row) is never removed: the alert still
fires, and its re-sends must not page again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from alerting.domain.model import Alert, AlertMatch, AlertStatus, Severity
from alerting.services.aggregator import store as aggregator
from alerting.services.rule_service.retention import Retention
from tests.integration.retention_support import *  # noqa: F403
from tests.integration.retention_support import Pool, days_before
from tests.integration.sender_support import seed_rule

pytestmark = pytest.mark.integration

DAYS = 30


def event(cid: str, rule: str, alert_id: str, ts: int, status: AlertStatus) -> AlertMatch:
    alert = Alert(alert_id, Severity.HIGH, "payments", "checkout", ts, {}, status)
    return AlertMatch(alert, cid, (rule,))


async def send(
    pool: Pool, cid: str, rule: str, alert_id: str, ts: int, status: AlertStatus
) -> aggregator.Stored:
    return await aggregator.upsert(pool, [event(cid, rule, alert_id, ts, status)])


async def fired_long_ago(pool: Pool, alert_id: str) -> tuple[str, str]:
    """A client whose rule matched ``alert_id``'s firing, delivered more than the
    retention ago (episode 1 open); (client id, rule id)."""
    cid = f"ret-{uuid.uuid4().hex[:8]}"
    rule = await seed_rule(pool, cid)
    await send(pool, cid, rule, alert_id, 100, AlertStatus.FIRING)
    await delivered_long_ago(pool, cid, alert_id)
    return cid, rule


async def episode_rows(pool: Pool, cid: str, alert_id: str) -> list[tuple[int, str, str]]:
    rows = await pool.fetch(
        "SELECT episode, kind, notification_id::text FROM notifications"
        " WHERE client_id = $1 AND alert_id = $2 ORDER BY episode, kind",
        cid, alert_id,
    )  # fmt: skip
    return [(r[0], r[1], r[2]) for r in rows]


async def delivered_long_ago(pool: Pool, cid: str, alert_id: str) -> None:
    """The alert's rows as the sender leaves them, written more than the retention ago."""
    await pool.execute(
        "UPDATE notifications SET status = 'SENT', sent_at = $3, created_at = $3"
        " WHERE client_id = $1 AND alert_id = $2",
        cid, alert_id, days_before(datetime.now(UTC), DAYS + 1),
    )  # fmt: skip


async def test_a_closed_episode_past_the_retention_fires_again_as_a_new_episode_1(
    pool: Pool,
) -> None:
    cid, alert_id = f"ret-{uuid.uuid4().hex[:8]}", "db-down"
    rule = await seed_rule(pool, cid)
    await send(pool, cid, rule, alert_id, 100, AlertStatus.FIRING)
    await send(pool, cid, rule, alert_id, 200, AlertStatus.RESOLVED)
    await send(pool, cid, rule, alert_id, 300, AlertStatus.FIRING)
    await send(pool, cid, rule, alert_id, 400, AlertStatus.RESOLVED)
    before = await episode_rows(pool, cid, alert_id)
    assert [(e, k) for e, k, _ in before] == [(1, "firing"), (1, "resolved"),
                                              (2, "firing"), (2, "resolved")]  # fmt: skip
    await delivered_long_ago(pool, cid, alert_id)

    done = await Retention(pool, DAYS, pause_s=0).run_pass()
    assert done.notifications == 4
    assert await episode_rows(pool, cid, alert_id) == []

    # The same alert fires again (even with an event_ts older than the removed resolved's,
    # which the removed row would have refused as a late re-send): episode 1, a new row.
    again = await send(pool, cid, rule, alert_id, 150, AlertStatus.FIRING)
    assert (again.created, again.orphaned) == (1, 0)
    [pending] = again.pending
    assert pending.created and pending.notification_id not in {i for _, _, i in before}
    assert await episode_rows(pool, cid, alert_id) == [(1, "firing", pending.notification_id)]
    # ... and from there on the episode rules apply as usual.
    resolved = await send(pool, cid, rule, alert_id, 250, AlertStatus.RESOLVED)
    assert (resolved.created, resolved.orphaned) == (1, 0)


async def test_an_open_episode_past_the_retention_is_kept_and_closed_by_its_resolved(
    pool: Pool,
) -> None:
    """An alert still firing: its source's re-sends write nothing, so its firing row
    only ages. The retention keeps it (a re-send must not page again as a new episode
    1), and the real resolved closes it; from then on the episode goes as any other."""
    alert_id = "disk-full"
    cid, rule = await fired_long_ago(pool, alert_id)
    [(_, _, firing_id)] = await episode_rows(pool, cid, alert_id)
    assert (await Retention(pool, DAYS, pause_s=0).run_pass()).notifications == 0

    resend = await send(pool, cid, rule, alert_id, 100, AlertStatus.FIRING)
    assert resend.created == 0  # de-duplicated against the kept row: nobody paged
    closed = await send(pool, cid, rule, alert_id, 200, AlertStatus.RESOLVED)
    assert (closed.created, closed.orphaned) == (1, 0)
    rows = await episode_rows(pool, cid, alert_id)
    assert [(e, k) for e, k, _ in rows] == [(1, "firing"), (1, "resolved")]
    assert rows[0][2] == firing_id

    await delivered_long_ago(pool, cid, alert_id)
    assert (await Retention(pool, DAYS, pause_s=0).run_pass()).notifications == 2
    assert await episode_rows(pool, cid, alert_id) == []


async def test_a_resolved_past_the_retention_stays_while_its_firing_row_stays(
    pool: Pool,
) -> None:
    """A resolved row goes with or after its firing row: one whose firing row is locked
    (a re-drive writing it) is left for a later pass, not removed alone, which would
    leave the firing row as an open episode kept forever."""
    alert_id = "mem-low"
    cid, rule = await fired_long_ago(pool, alert_id)
    await send(pool, cid, rule, alert_id, 200, AlertStatus.RESOLVED)
    await delivered_long_ago(pool, cid, alert_id)
    [(_, _, firing_id), (_, _, resolved_id)] = await episode_rows(pool, cid, alert_id)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "SELECT 1 FROM notifications WHERE notification_id = $1 FOR UPDATE",
            uuid.UUID(firing_id),
        )
        assert (await Retention(pool, DAYS, pause_s=0).run_pass()).notifications == 0
    assert [i for _, _, i in await episode_rows(pool, cid, alert_id)] == [firing_id, resolved_id]
    assert (await Retention(pool, DAYS, pause_s=0).run_pass()).notifications == 2


async def test_a_firing_past_the_retention_stays_while_its_resolved_is_to_deliver(
    pool: Pool,
) -> None:
    alert_id = "cpu-hot"
    cid, rule = await fired_long_ago(pool, alert_id)
    # The resolved arrives today, before the retention's pass: it waits for delivery.
    closed = await send(pool, cid, rule, alert_id, 200, AlertStatus.RESOLVED)
    assert closed.created == 1
    assert (await Retention(pool, DAYS, pause_s=0).run_pass()).notifications == 0
    assert [(e, k) for e, k, _ in await episode_rows(pool, cid, alert_id)] == [
        (1, "firing"), (1, "resolved")
    ]  # fmt: skip


async def test_a_firing_past_the_retention_stays_while_its_resolved_waits_for_a_digest(
    pool: Pool,
) -> None:
    """A GROUPED resolved row is in flight (its group's digest delivers it): with the
    firing row gone it would reach nobody."""
    alert_id = "disk-full"
    cid, rule = await fired_long_ago(pool, alert_id)
    await send(pool, cid, rule, alert_id, 200, AlertStatus.RESOLVED)
    await pool.execute(
        "UPDATE notifications SET status = 'GROUPED' WHERE client_id = $1 AND kind = 'resolved'",
        cid,
    )
    assert (await Retention(pool, DAYS, pause_s=0).run_pass()).notifications == 0
    assert [k for _, k, _ in await episode_rows(pool, cid, alert_id)] == ["firing", "resolved"]
