"""The sender's SQL for resolved notifications against real Postgres: a resolved row is
claimed only once its firing row is final, the firing row's outcome wakes it, and it
goes only to the endpoints its firing row reached that want resolved messages."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from alerting.services.sender import statements as sql
from alerting.services.sender.repo import PostgresSenderStore
from alerting.services.sender.store import Finish
from tests.integration.sender_support import (
    add_endpoint,
    insert_notification,
    insert_resolved,
    pool,
    seed_rule,
    store,
)

pytestmark = pytest.mark.integration
__all__ = ["pool", "store"]  # fixtures


async def set_status(pool: asyncpg.Pool[Any], notification_id: str, status: str) -> None:
    """The firing row in ``status``, as a sender leaves it (an expired claim for SENDING
    would be claimable itself, so its lease is live)."""
    await pool.execute(
        "UPDATE notifications SET status = $2, next_attempt_at = now() + interval '1 hour',"
        " claimed_by = CASE WHEN $2 = 'SENDING' THEN 'other' END,"
        " claim_expires_at = CASE WHEN $2 = 'SENDING' THEN now() + interval '1 hour' END"
        " WHERE notification_id = $1::uuid",
        notification_id,
        status,
    )


async def make_due(pool: asyncpg.Pool[Any], notification_id: str) -> None:
    await pool.execute(
        "UPDATE notifications SET next_attempt_at = now() - interval '1 second'"
        " WHERE notification_id = $1::uuid",
        notification_id,
    )


async def due_in_s(pool: asyncpg.Pool[Any], notification_id: str) -> float:
    value: float = await pool.fetchval(
        "SELECT extract(epoch FROM next_attempt_at - now()) FROM notifications"
        " WHERE notification_id = $1::uuid",
        notification_id,
    )
    return value


async def test_a_resolved_row_is_claimed_only_once_its_firing_row_is_final(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore
) -> None:
    rule = await seed_rule(pool, "acme")
    firing = await insert_notification(pool, "acme", [rule])
    resolved = await insert_resolved(pool, firing)
    for status in ("PENDING", "SENDING", "RETRY"):
        await set_status(pool, firing, status)
        assert await store.claim_ready([resolved], "me", 30) == [], status
        await make_due(pool, resolved)  # due for the poller too: only the firing row holds it
        assert await store.claim_due("me", 30, 10) == [], status
        # Put off, so that polls do not read it again and again: its firing row's FINISH
        # wakes it.
        assert await due_in_s(pool, resolved) > 200
    await set_status(pool, firing, "SENT")
    [claim] = await store.claim_ready([resolved], "me", 30)
    n = claim.notification
    assert (n.notification_id, n.kind, n.episode) == (resolved, "resolved", 1)
    assert n.name == "checkout_errors_resolved" and n.resolved


async def test_an_expired_claim_of_a_waiting_resolved_row_is_given_up_not_taken_over(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore
) -> None:
    """Only a re-drive racing a claim could get a resolved row SENDING while its firing
    row is not final; the poller then ends that claim and leaves it waiting."""
    rule = await seed_rule(pool, "acme")
    firing = await insert_notification(pool, "acme", [rule], status="RETRY")
    resolved = await insert_resolved(
        pool, firing, status="SENDING", claimed_by="dead:1:x", attempts=1,
        claim_expires_at=datetime.now(UTC) - timedelta(minutes=1),
    )  # fmt: skip
    assert await store.claim_due("me", 30, 10) == []
    row = await pool.fetchrow(
        "SELECT status, claimed_by, attempts FROM notifications WHERE notification_id = $1::uuid",
        resolved,
    )
    # The claim delivered nothing: its attempt is given back.
    assert tuple(row) == ("RETRY", None, 0) and await due_in_s(pool, resolved) > 200


async def test_a_firing_row_finishing_during_a_poll_does_not_get_its_resolved_row_put_off(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore
) -> None:
    """The poll's snapshot says "not final", but the firing row's FINISH is being written
    (and its wake-up passed over the resolved row: already due): putting it off would
    undo the wake-up for 5 minutes. It stays due, and the next poll takes it."""
    rule = await seed_rule(pool, "acme")
    firing = await insert_notification(pool, "acme", [rule], status="RETRY")
    resolved = await insert_resolved(pool, firing)
    await make_due(pool, resolved)
    async with pool.acquire() as conn:
        finish = conn.transaction()
        await finish.start()
        await conn.execute(
            "UPDATE notifications SET status = 'SENT', sent_at = now()"
            " WHERE notification_id = $1::uuid",
            firing,
        )
        assert await store.claim_due("me", 30, 10) == []
        assert await due_in_s(pool, resolved) <= 0
        await finish.commit()
    [claim] = await store.claim_due("me", 30, 10)
    assert claim.notification.notification_id == resolved


async def test_a_poll_between_finish_and_the_wake_up_leaves_the_resolved_row_due(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore
) -> None:
    """The outcome write's own statements, in its order: FINISH has made the firing row
    SENT (not committed), then a poll runs before WAKE_RESOLVED. The poll must not put
    the resolved row off (the firing row it would read is being written), and the
    wake-up that follows leaves it due."""
    rule = await seed_rule(pool, "acme")
    firing = await insert_notification(pool, "acme", [rule])
    resolved = await insert_resolved(pool, firing)
    await make_due(pool, resolved)
    (claim,) = await store.claim_ready([firing], "me", 30)
    async with pool.acquire() as conn, conn.transaction():
        (held,) = await conn.fetch(sql.HELD, "me", [firing], [claim.lease])
        assert held["held"]
        (written,) = await conn.fetch(sql.FINISH, [held["ctid"]], ["SENT"], [0], [None], [0])
        assert written["wakes"]
        # Bounded: were the poll to wait for the firing row's lock (no SKIP LOCKED), it
        # would wait for this very transaction.
        polled = await asyncio.wait_for(store.claim_due("poller", 30, 10), 10)
        assert polled == []  # still waiting, not put off
        assert await due_in_s(pool, resolved) <= 0
        await conn.execute(sql.WAKE_RESOLVED, [firing])
    assert await due_in_s(pool, resolved) <= 0
    [taken] = await store.claim_due("poller", 30, 10)
    assert taken.notification.notification_id == resolved


async def test_a_put_off_in_flight_when_the_firing_row_finishes_is_undone_by_its_wake_up(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore
) -> None:
    """The other order: a poll has read the firing row as not final (its lock held) and
    put the resolved row off, uncommitted, when the sender's outcome write comes. The
    write's lock of the firing row (HELD) waits for the poll to commit; the wake-up after
    FINISH, in the same transaction, sees the put-off and makes the row due again: 5
    minutes are not lost."""
    rule = await seed_rule(pool, "acme")
    firing = await insert_notification(pool, "acme", [rule])
    resolved = await insert_resolved(pool, firing)
    await make_due(pool, resolved)
    (claim,) = await store.claim_ready([firing], "me", 30)
    finish = Finish(firing, claim.lease, "SENT", 0, None, False)
    async with pool.acquire() as poll:
        put_off = poll.transaction()
        await put_off.start()
        assert await poll.fetch(sql.CLAIM_DUE, "poller", 30, 10) == []
        writing = asyncio.create_task(store.record_outcomes("me", [], [finish]))
        blocked_by_poll = (
            "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))"
        )
        for _ in range(500):  # until the outcome write waits for the poll's lock
            waiting = await pool.fetchval(blocked_by_poll, poll.get_server_pid())
            if waiting or writing.done():
                break
            await asyncio.sleep(0.02)
        assert waiting and not writing.done()
        await put_off.commit()
    assert await asyncio.wait_for(writing, 10) == {firing}
    assert await due_in_s(pool, resolved) <= 0
    [taken] = await store.claim_due("poller", 30, 10)
    assert taken.notification.notification_id == resolved


@pytest.mark.parametrize("final", ["FAILED", "gone"])
async def test_a_failed_or_purged_firing_row_lets_its_resolved_row_go(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore, final: str
) -> None:
    rule = await seed_rule(pool, "acme")
    firing = await insert_notification(pool, "acme", [rule])
    resolved = await insert_resolved(pool, firing)
    await make_due(pool, resolved)
    if final == "gone":
        await pool.execute("DELETE FROM notifications WHERE notification_id = $1::uuid", firing)
    else:
        await set_status(pool, firing, final)
    [claim] = await store.claim_due("me", 30, 10)
    assert claim.notification.notification_id == resolved


async def test_a_firing_rows_final_outcome_wakes_its_resolved_row_in_the_same_write(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore
) -> None:
    rule = await seed_rule(pool, "acme")
    sent, retried, failed = [await insert_notification(pool, "acme", [rule]) for _ in range(3)]
    waiting = {f: await insert_resolved(pool, f) for f in (sent, retried, failed)}
    untouched = await insert_resolved(
        pool, await insert_notification(pool, "acme", [rule]), status="SUPPRESSED"
    )
    claims = {c.notification.notification_id: c for c in await store.claim_ready(
        [sent, retried, failed, *waiting.values()], "me", 30
    )}  # fmt: skip
    assert sorted(claims) == sorted([sent, retried, failed])  # the resolved rows wait
    outcomes = {sent: "SENT", retried: "RETRY", failed: "FAILED"}
    finishes = [
        Finish(i, claims[i].lease, status, 60_000, None, False) for i, status in outcomes.items()
    ]
    assert await store.record_outcomes("me", [], finishes) == {sent, retried, failed}
    assert await due_in_s(pool, waiting[sent]) <= 0
    assert await due_in_s(pool, waiting[failed]) <= 0
    assert await due_in_s(pool, waiting[retried]) > 200  # still its safety-net time
    assert await due_in_s(pool, untouched) > 200
    woken = await store.claim_due("me", 30, 10)
    assert sorted(c.notification.notification_id for c in woken) == sorted(
        [waiting[sent], waiting[failed]]
    )


async def test_a_re_driven_firing_row_leaves_its_settled_resolved_row_alone(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore
) -> None:
    """An operator re-drives a firing row whose resolved row was already delivered: its
    new final outcome finds that row, which no longer waits, and neither moves it nor
    touches its updated_at (the API shows it, the flusher's sweep orders by it)."""
    rule = await seed_rule(pool, "acme")
    firing = await insert_notification(pool, "acme", [rule])
    resolved = await insert_resolved(pool, firing)
    await pool.execute(
        "UPDATE notifications SET status = 'SENT', next_attempt_at = now() + interval '1 hour',"
        " updated_at = now() - interval '1 day' WHERE notification_id = $1::uuid",
        resolved,
    )
    before = await pool.fetchrow(
        "SELECT next_attempt_at, updated_at, xmin::text FROM notifications"
        " WHERE notification_id = $1::uuid",
        resolved,
    )
    (claim,) = await store.claim_ready([firing], "me", 30)
    finish = Finish(firing, claim.lease, "SENT", 0, None, False)
    assert await store.record_outcomes("me", [], [finish]) == {firing}
    after = await pool.fetchrow(
        "SELECT next_attempt_at, updated_at, xmin::text FROM notifications"
        " WHERE notification_id = $1::uuid",
        resolved,
    )
    assert after == before  # not even rewritten unchanged (xmin)


async def endpoint_id(pool: asyncpg.Pool[Any], value: str) -> str:
    found: uuid.UUID = await pool.fetchval(
        "SELECT endpoint_id FROM endpoints WHERE value = $1", value
    )
    return str(found)


async def test_a_resolved_row_goes_only_where_its_firing_row_was_delivered(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore
) -> None:
    rule = await seed_rule(pool, "acme")
    names = ["failed", "sent", "no-resolved", "disabled", "added-later", "pending"]
    for name in names:
        await add_endpoint(
            pool, rule, "email", f"{name}@acme.example", send_resolved=name != "no-resolved"
        )
    ids = {name: await endpoint_id(pool, f"{name}@acme.example") for name in names}
    firing = await insert_notification(pool, "acme", [rule], status="SENT")
    firing_outcomes = {
        "failed": "FAILED", "sent": "SENT", "no-resolved": "SENT", "disabled": "SENT",
        "pending": "RETRY",  # a firing row is final with RETRY deliveries only via a bug
    }  # fmt: skip
    for name, status in firing_outcomes.items():
        await pool.execute(
            "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status)"
            " VALUES ($1::uuid, $2::uuid, 'email', $3)",
            firing, ids[name], status,
        )  # fmt: skip
    await pool.execute(
        "UPDATE endpoints SET enabled = false WHERE endpoint_id = $1::uuid", ids["disabled"]
    )
    resolved = await insert_resolved(pool, firing)
    found = await store.endpoints_for([firing, resolved])
    assert [e.value for e in found[resolved]] == ["sent@acme.example"]
    assert found[resolved][0].prior_status is None  # its own deliveries, not the firing's
    # The firing row itself still sees every enabled endpoint of its rules.
    assert len(found[firing]) == len(names) - 1


async def test_a_resolved_row_never_reaches_another_tenants_endpoint(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore
) -> None:
    mine, theirs = await seed_rule(pool, "acme"), await seed_rule(pool, "globex")
    await add_endpoint(pool, theirs, "email", "ops@globex.example")
    other = await endpoint_id(pool, "ops@globex.example")
    # A firing row carrying another tenant's rule id (rule_ids come from Kafka) with a
    # SENT delivery on record for that tenant's endpoint: still not a target.
    firing = await insert_notification(pool, "acme", [mine, theirs], status="SENT")
    await pool.execute(
        "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status)"
        " VALUES ($1::uuid, $2::uuid, 'email', 'SENT')",
        firing, other,
    )  # fmt: skip
    resolved = await insert_resolved(pool, firing)
    assert (await store.endpoints_for([resolved]))[resolved] == []
