"""The aggregator's batch statement against real Postgres: which rows firing and resolved
alerts make (the episodes of docs/lifecycle.md), what is announced, what is locked, and
two aggregators racing on one episode."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from alerting.config import Settings
from alerting.domain.model import AlertStatus
from alerting.services.aggregator import store
from alerting.services.aggregator.store import Pending, upsert
from tests.integration.episode_support import (
    F,
    Pool,
    R,
    event,
    lock_waiters,
    new_client,
    shape,
    stored,
)
from tests.integration.rule_service_support import rs_settings, rule_pool
from tests.integration.sender_support import seed_rule
from tests.pipeline_support import eventually

__all__ = ["rs_settings", "rule_pool"]
pytestmark = pytest.mark.integration
GRACE = timedelta(seconds=30)


@pytest.fixture
async def tenant(rule_pool: Pool) -> tuple[str, str]:
    """A new client and one of its rules."""
    client = new_client()
    return client, await seed_rule(rule_pool, client)


@pytest.fixture
async def batch_conn(rs_settings: Settings) -> AsyncIterator[asyncpg.Connection[Any]]:
    """A second aggregator's connection: its transactions interleave with the pool's."""
    conn = await asyncpg.connect(rs_settings.postgres_dsn)
    try:
        yield conn
    finally:
        await conn.close()


async def set_status(pool: Pool, notification_id: str, status: str) -> None:
    await pool.execute(
        "UPDATE notifications SET status = $2 WHERE notification_id = $1::uuid",
        notification_id, status,
    )  # fmt: skip


async def test_a_firing_makes_one_pending_row_and_announces_it(
    rule_pool: Pool, tenant: tuple[str, str]
) -> None:
    client, rule = tenant
    done = await upsert(rule_pool, [event(client, "a1", F, 0, rule)])
    [row] = await stored(rule_pool, client)
    assert (row["episode"], row["kind"], row["status"], row["rule_ids"]) == (
        1, "firing", "PENDING", [rule],
    )  # fmt: skip
    assert (row["firing_id"], row["silence_id"], row["ts"]) == (None, None, 0)
    assert GRACE - timedelta(seconds=5) < row["due_in"] <= GRACE
    assert done.pending == [Pending(row["id"], client, "a1", True)]
    assert (done.created, done.orphaned) == (1, 0)


async def test_repeated_firings_make_no_row_and_announce_it_again_until_delivered(
    rule_pool: Pool, tenant: tuple[str, str]
) -> None:
    client, rule = tenant
    [first] = (await upsert(rule_pool, [event(client, "a1", F, 0, rule)])).pending
    for ts in range(1, 6):
        again = await upsert(rule_pool, [event(client, "a1", F, ts, rule)])
        assert again.pending == [Pending(first.notification_id, client, "a1", False)]
        assert again.created == 0
    await set_status(rule_pool, first.notification_id, "SENDING")
    assert len((await upsert(rule_pool, [event(client, "a1", F, 6, rule)])).pending) == 1
    await set_status(rule_pool, first.notification_id, "SENT")
    assert (await upsert(rule_pool, [event(client, "a1", F, 7, rule)])).pending == []
    assert await shape(rule_pool, client) == [("a1", 1, "firing")]


async def test_a_resolved_closes_the_episode_naming_its_firing_with_its_rules(
    rule_pool: Pool, tenant: tuple[str, str]
) -> None:
    client, rule = tenant
    other_rule = await seed_rule(rule_pool, client)  # the resolved alert matched another
    await upsert(rule_pool, [event(client, "a1", F, 0, rule, context={"disk": "91%"})])
    done = await upsert(
        rule_pool, [event(client, "a1", R, 10, other_rule, context={"disk": "40%"})]
    )
    firing, resolved = await stored(rule_pool, client)
    assert (resolved["episode"], resolved["kind"], resolved["status"]) == (1, "resolved", "PENDING")
    assert resolved["firing_id"] == firing["id"]
    assert resolved["rule_ids"] == [rule]
    assert (resolved["ts"], resolved["context"]) == (10, {"disk": "40%"})
    # The firing is not delivered yet: the sender wakes the resolved when it is.
    assert timedelta(minutes=4) < resolved["due_in"] <= timedelta(minutes=5)
    assert (done.created, done.orphaned) == (1, 0)
    assert sorted(done.pending, key=lambda p: p.created) == [
        Pending(firing["id"], client, "a1", False),
        Pending(resolved["id"], client, "a1", True),
    ]


@pytest.mark.parametrize("final", ["SENT", "FAILED"])
async def test_the_resolved_of_a_final_firing_is_due_after_the_usual_grace(
    rule_pool: Pool, tenant: tuple[str, str], final: str
) -> None:
    client, rule = tenant
    [firing] = (await upsert(rule_pool, [event(client, "a1", F, 0, rule)])).pending
    await set_status(rule_pool, firing.notification_id, final)
    done = await upsert(rule_pool, [event(client, "a1", R, 10, rule)])
    _, resolved = await stored(rule_pool, client)
    assert resolved["status"] == "PENDING" and resolved["due_in"] <= GRACE
    assert done.pending == [Pending(resolved["id"], client, "a1", True)]


async def test_resolving_twice_makes_one_resolved_row(
    rule_pool: Pool, tenant: tuple[str, str]
) -> None:
    client, rule = tenant
    await upsert(rule_pool, [event(client, "a1", F, 0, rule)])
    await upsert(rule_pool, [event(client, "a1", R, 10, rule)])
    again = await upsert(rule_pool, [event(client, "a1", R, 20, rule)])
    assert (again.created, again.orphaned) == (0, 1)
    assert await shape(rule_pool, client) == [("a1", 1, "firing"), ("a1", 1, "resolved")]
    assert (await stored(rule_pool, client))[1]["ts"] == 10


@pytest.mark.parametrize("ts", [11, 25])
async def test_a_firing_after_the_resolved_opens_the_next_episode(
    rule_pool: Pool, tenant: tuple[str, str], ts: int
) -> None:
    client, rule = tenant
    await upsert(rule_pool, [event(client, "a1", F, 0, rule)])
    await upsert(rule_pool, [event(client, "a1", R, 10, rule)])
    done = await upsert(rule_pool, [event(client, "a1", F, ts, rule)])
    rows = await stored(rule_pool, client)
    assert [(r["episode"], r["kind"]) for r in rows] == [
        (1, "firing"), (1, "resolved"), (2, "firing"),
    ]  # fmt: skip
    assert (rows[2]["status"], rows[2]["ts"]) == ("PENDING", ts)
    assert Pending(rows[2]["id"], client, "a1", True) in done.pending


@pytest.mark.parametrize("ts", [5, 10])
async def test_a_firing_not_newer_than_the_resolved_is_a_late_resend_and_makes_nothing(
    rule_pool: Pool, tenant: tuple[str, str], ts: int
) -> None:
    """Equal times included: every event of an alert without an alert_id has the same
    event_ts (the derived id hashes it), and its re-sent firing must not reopen it."""
    client, rule = tenant
    await upsert(rule_pool, [event(client, "a1", F, 0, rule)])
    await upsert(rule_pool, [event(client, "a1", R, 10, rule)])
    late = await upsert(rule_pool, [event(client, "a1", F, ts, rule)])
    assert (late.created, late.orphaned) == (0, 0)
    assert await shape(rule_pool, client) == [("a1", 1, "firing"), ("a1", 1, "resolved")]


async def test_a_resolved_older_than_the_open_firing_is_a_late_resend_and_makes_nothing(
    rule_pool: Pool, tenant: tuple[str, str]
) -> None:
    """A replay of the resolved of episode 1 and the firing of episode 2 (a batch again
    after a crash before the offset commit) must not close episode 2 nor open a third."""
    client, rule = tenant
    first = [event(client, "a1", F, 0, rule)]
    replayed = [event(client, "a1", R, 10, rule), event(client, "a1", F, 20, rule)]
    for batch in (first, replayed, replayed):
        await upsert(rule_pool, batch)
    assert await shape(rule_pool, client) == [
        ("a1", 1, "firing"), ("a1", 1, "resolved"), ("a1", 2, "firing"),
    ]  # fmt: skip
    late = await upsert(rule_pool, [event(client, "a1", R, 15, rule)])
    assert (late.created, late.orphaned) == (0, 1)
    closing = await upsert(rule_pool, [event(client, "a1", R, 20, rule)])
    assert closing.created == 1


async def test_a_resolved_without_an_episode_makes_nothing_and_is_counted(
    rule_pool: Pool, tenant: tuple[str, str]
) -> None:
    """Out of order: the resolved is dropped, the late firing opens an episode that the
    source's next resolved closes (docs/lifecycle.md)."""
    client, rule = tenant
    early = await upsert(rule_pool, [event(client, "a1", R, 10, rule)])
    assert (early.created, early.orphaned, early.pending) == (0, 1, [])
    assert await stored(rule_pool, client) == []
    await upsert(rule_pool, [event(client, "a1", F, 0, rule)])
    assert await shape(rule_pool, client) == [("a1", 1, "firing")]


async def test_one_batch_with_two_episodes_of_an_alert_closes_both(
    rule_pool: Pool, tenant: tuple[str, str]
) -> None:
    client, rule = tenant
    a1 = [(F, 0), (F, 1), (R, 10), (R, 11), (F, 20), (R, 30)]
    batch = [event(client, "a1", status, ts, rule) for status, ts in a1]
    batch.insert(2, event(client, "a2", F, 0, rule))
    done = await upsert(rule_pool, batch)
    rows = await stored(rule_pool, client)
    assert [(r["alert_id"], r["episode"], r["kind"], r["ts"]) for r in rows] == [
        ("a1", 1, "firing", 0),  # the first of a run of firings opens the episode
        ("a1", 1, "resolved", 10),
        ("a1", 2, "firing", 20),
        ("a1", 2, "resolved", 30),
        ("a2", 1, "firing", 0),
    ]
    assert [r["firing_id"] for r in rows if r["kind"] == "resolved"] == [
        rows[0]["id"],
        rows[2]["id"],
    ]
    assert (done.created, done.orphaned) == (5, 1)  # the repeated resolved at 11
    assert sorted(p.notification_id for p in done.pending) == sorted(r["id"] for r in rows)
    assert all(p.created for p in done.pending)


async def test_a_silenced_firing_is_suppressed_and_so_is_its_resolved(
    rule_pool: Pool, tenant: tuple[str, str]
) -> None:
    client, rule = tenant
    silence, other = sorted(str(uuid.uuid4()) for _ in range(2))
    muted = await upsert(rule_pool, [event(client, "a1", F, 0, rule, silences=(silence, other))])
    assert (muted.created, muted.pending) == (1, [])
    assert (await upsert(rule_pool, [event(client, "a1", F, 5, rule)])).pending == []
    closed = await upsert(rule_pool, [event(client, "a1", R, 10, rule)])
    assert (closed.created, closed.pending) == (1, [])
    rows = await stored(rule_pool, client)
    assert [(r["kind"], r["status"], r["silence_id"]) for r in rows] == [
        ("firing", "SUPPRESSED", silence),
        ("resolved", "SUPPRESSED", silence),
    ]


async def test_the_resolved_of_a_released_firing_is_pending_without_the_silence(
    rule_pool: Pool, tenant: tuple[str, str]
) -> None:
    client, rule = tenant
    silence = str(uuid.uuid4())
    await upsert(rule_pool, [event(client, "a1", F, 0, rule, silences=(silence,))])
    [firing] = await stored(rule_pool, client)
    await set_status(rule_pool, firing["id"], "PENDING")  # the silence ended: released
    done = await upsert(rule_pool, [event(client, "a1", R, 10, rule)])
    _, resolved = await stored(rule_pool, client)
    assert (resolved["status"], resolved["silence_id"]) == ("PENDING", None)
    assert Pending(resolved["id"], client, "a1", True) in done.pending


async def test_a_resolved_waits_for_a_release_in_flight_and_takes_its_status(
    rule_pool: Pool, tenant: tuple[str, str], batch_conn: asyncpg.Connection[Any]
) -> None:
    client, rule = tenant
    await upsert(rule_pool, [event(client, "a1", F, 0, rule, silences=(str(uuid.uuid4()),))])
    [firing] = await stored(rule_pool, client)
    release = batch_conn
    await release.execute("BEGIN")
    await release.execute(
        "UPDATE notifications SET status = 'PENDING' WHERE notification_id = $1::uuid",
        firing["id"],
    )
    resolving = asyncio.create_task(upsert(rule_pool, [event(client, "a1", R, 10, rule)]))
    await eventually(lambda: lock_waiters(rule_pool), 30, "the resolved waiting")
    assert not resolving.done()
    await release.execute("COMMIT")
    done = await asyncio.wait_for(resolving, 30)
    _, resolved = await stored(rule_pool, client)
    assert resolved["status"] == "PENDING"
    assert Pending(resolved["id"], client, "a1", True) in done.pending


async def test_a_release_cannot_lock_the_firing_while_its_resolved_is_being_stored(
    rule_pool: Pool, tenant: tuple[str, str], batch_conn: asyncpg.Connection[Any]
) -> None:
    client, rule = tenant
    await upsert(rule_pool, [event(client, "a1", F, 0, rule, silences=(str(uuid.uuid4()),))])
    [firing] = await stored(rule_pool, client)
    lock_firing = "SELECT 1 FROM notifications WHERE notification_id = $1::uuid FOR UPDATE NOWAIT"
    await batch_conn.execute(store.BEGIN_LOCKED)
    await store.insert_batch(batch_conn, [event(client, "a1", F, 5, rule)])
    async with rule_pool.acquire() as conn, conn.transaction():  # a re-sent firing locks nothing
        assert await conn.fetchval(lock_firing, firing["id"]) == 1
    await store.insert_batch(batch_conn, [event(client, "a1", R, 10, rule)])
    async with rule_pool.acquire() as conn, conn.transaction():
        with pytest.raises(asyncpg.LockNotAvailableError):
            await conn.fetchval(lock_firing, firing["id"])
    await batch_conn.execute("COMMIT")
    assert [r["status"] for r in await stored(rule_pool, client)] == ["SUPPRESSED"] * 2


@pytest.mark.parametrize("status", [F, R])
async def test_two_aggregators_racing_on_one_episode_make_one_row(
    rule_pool: Pool,
    tenant: tuple[str, str],
    batch_conn: asyncpg.Connection[Any],
    status: Any,
) -> None:
    client, rule = tenant
    if status is R:
        await upsert(rule_pool, [event(client, "a1", F, 0, rule)])
    await batch_conn.execute(store.BEGIN_LOCKED)
    first = await store.insert_batch(batch_conn, [event(client, "a1", status, 10, rule)])
    second = asyncio.create_task(upsert(rule_pool, [event(client, "a1", status, 10, rule)]))
    await eventually(lambda: lock_waiters(rule_pool), 30, "the second insert waiting")
    await batch_conn.execute("COMMIT")
    lost = await asyncio.wait_for(second, 30)
    assert (first.created, lost.created) == (1, 0)
    kinds = [("a1", 1, "firing")] + ([("a1", 1, "resolved")] if status is R else [])
    assert await shape(rule_pool, client) == kinds


async def test_a_resolved_whose_rules_are_gone_makes_nothing(
    rule_pool: Pool, tenant: tuple[str, str]
) -> None:
    """A deleted client's resolved still in Kafka must not add a row behind its purge."""
    client, rule = tenant
    await upsert(rule_pool, [event(client, "a1", F, 0, rule)])
    await rule_pool.execute("DELETE FROM rules WHERE rule_id = $1::uuid", rule)
    done = await upsert(rule_pool, [event(client, "a1", R, 10, rule)])
    assert (done.created, done.orphaned, done.pending) == (0, 0, [])
    assert await shape(rule_pool, client) == [("a1", 1, "firing")]


Events = list[tuple[AlertStatus, int]]  # (status, event_ts)


async def feed(pool: Pool, client: str, rule: str, events: Events) -> int:
    """One batch of alert a1's events; how many rows it made."""
    return (await upsert(pool, [event(client, "a1", s, ts, rule) for s, ts in events])).created


@pytest.mark.parametrize(
    ("events", "rows"),
    [
        ([(F, 100), (R, 100)], [(1, "firing"), (1, "resolved")]),
        ([(F, 100), (R, 150), (F, 200)], [(1, "firing"), (1, "resolved"), (2, "firing")]),
    ],
)
async def test_a_replayed_batch_makes_nothing_new(
    rule_pool: Pool, tenant: tuple[str, str], events: Events, rows: list[tuple[int, str]]
) -> None:
    """Kafka redelivers a batch whose rows were committed before its offsets: replayed
    whole or from any event on, it makes nothing (the review's two failing windows)."""
    client, rule = tenant
    assert await feed(rule_pool, client, rule, events) == len(rows)
    assert await feed(rule_pool, client, rule, events) == 0
    for k in range(1, len(events)):
        assert await feed(rule_pool, client, rule, events[k:]) == 0
        assert await feed(rule_pool, client, rule, events[k : k + 1]) == 0
    assert await shape(rule_pool, client) == [("a1", ep, kind) for ep, kind in rows]


async def test_closing_firings_in_any_input_order_does_not_deadlock_with_the_sender(
    rule_pool: Pool, tenant: tuple[str, str], rs_settings: Settings
) -> None:
    """The sender's HELD locks a batch's rows in notification_id order; given the
    resolveds in the opposite order, the aggregator waits for the first row the sender
    holds and holds none the sender goes on to lock (before: a deadlock)."""
    client, rule = tenant
    await upsert(rule_pool, [event(client, a, F, 0, rule) for a in ("a", "b")])
    firings = await rule_pool.fetch(
        "SELECT notification_id, alert_id FROM notifications WHERE client_id = $1"
        " ORDER BY notification_id",
        client,
    )
    (low, low_alert), (high, high_alert) = firings
    sender: asyncpg.Connection[Any] = await asyncpg.connect(rs_settings.postgres_dsn)
    lock = "SELECT 1 FROM notifications WHERE notification_id = $1 FOR NO KEY UPDATE"
    try:
        await sender.execute("BEGIN")
        await sender.fetchval(lock, low)
        resolveds = [event(client, a, R, 5, rule) for a in (high_alert, low_alert)]
        closing = asyncio.create_task(upsert(rule_pool, resolveds))
        await eventually(lambda: lock_waiters(rule_pool), 30, "the aggregator waiting")
        assert await sender.fetchval(f"{lock} NOWAIT", high) == 1
        await sender.execute("COMMIT")
        done = await asyncio.wait_for(closing, 30)
    finally:
        await sender.close()
    assert done.created == 2
    assert sorted(await shape(rule_pool, client)) == [
        ("a", 1, "firing"),
        ("a", 1, "resolved"),
        ("b", 1, "firing"),
        ("b", 1, "resolved"),
    ]
