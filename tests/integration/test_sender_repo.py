"""The sender's SQL against real Postgres: which endpoints a notification may reach,
claims that take exactly the claimable rows of a batch, and outcomes written only by the
claim that still holds the row."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from alerting.services.sender.repo import PostgresSenderStore
from alerting.services.sender.store import DeliveryRow, Finish
from tests.integration.sender_support import (
    add_endpoint,
    insert_notification,
    pool,
    seed_rule,
    store,
)

pytestmark = pytest.mark.integration
__all__ = ["pool", "store"]  # fixtures


async def test_endpoints_are_only_those_of_the_notifications_own_client(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore
) -> None:
    mine, theirs = await seed_rule(pool, "acme"), await seed_rule(pool, "globex")
    hook = await add_endpoint(pool, mine, "email", "ops@acme.example")
    off = await add_endpoint(pool, mine, "email", "off@acme.example")
    await pool.execute("UPDATE endpoints SET enabled = false WHERE endpoint_id = $1::uuid", off)
    await add_endpoint(pool, theirs, "email", "ops@globex.example")
    # rule ids come from Kafka: one of another tenant must not route anything there
    nid = await insert_notification(pool, "acme", [mine, theirs])
    other = await insert_notification(pool, "globex", [theirs])
    await pool.execute(
        "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status, last_error)"
        " VALUES ($1::uuid, $2::uuid, 'email', 'RETRY', 'SMTP 451 try later')",
        nid, hook,
    )  # fmt: skip
    found = await store.endpoints_for([nid, other])
    assert [(e.endpoint_id, e.value) for e in found[nid]] == [(hook, "ops@acme.example")]
    assert (found[nid][0].prior_status, found[nid][0].prior_error) == (
        "RETRY",
        "SMTP 451 try later",
    )
    assert [e.value for e in found[other]] == ["ops@globex.example"]
    assert found[other][0].prior_status is None


async def test_a_ready_claim_takes_the_claimable_rows_of_the_batch_only(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore
) -> None:
    rule = await seed_rule(pool, "acme")
    pending = [await insert_notification(pool, "acme", [rule]) for _ in range(3)]
    sent = await insert_notification(pool, "acme", [rule], status="SENT")
    elsewhere = await insert_notification(pool, "acme", [rule])  # not in the batch
    claims = await store.claim_ready([*pending, sent], "me", 30)
    assert sorted(c.notification.notification_id for c in claims) == sorted(pending)
    assert all(c.notification.attempts == 1 and not c.taken_over for c in claims)
    rows = await pool.fetch(
        "SELECT notification_id::text AS id, status, claimed_by FROM notifications"
    )
    by_id = {r["id"]: (r["status"], r["claimed_by"]) for r in rows}
    assert all(by_id[p] == ("SENDING", "me") for p in pending)
    assert by_id[sent] == ("SENT", None) and by_id[elsewhere] == ("PENDING", None)
    assert await store.claim_ready(pending, "you", 30) == []  # held by "me" now


async def test_an_outcome_is_written_only_by_the_claim_that_still_holds_the_row(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore
) -> None:
    rule = await seed_rule(pool, "acme")
    kept, lost, done = [await insert_notification(pool, "acme", [rule]) for _ in range(3)]
    mine = {c.notification.notification_id: c for c in await store.claim_ready(
        [kept, lost, done], "me", 30
    )}  # fmt: skip
    # "lost": my lease ran out and another sender took the claim over
    await pool.execute(
        "UPDATE notifications SET claim_expires_at = now() - interval '1 second'"
        " WHERE notification_id = $1::uuid",
        lost,
    )
    [taken] = await store.claim_due("you", 30, 10)
    assert taken.notification.notification_id == lost and taken.taken_over
    # "done": already finished by this claim; a second report must not count
    finish = {i: Finish(i, mine[i].lease, "SENT", 0, None, False) for i in mine}
    assert await store.record_outcomes("me", [], [finish[done]]) == {done}
    assert await store.record_outcomes("me", [], [finish[lost], finish[done]]) == set()
    endpoint = "00000000-0000-4000-8000-000000000009"
    row = DeliveryRow(kept, endpoint, "webhook", "SENT", None, 200, None, 1.7e9, 12)
    assert await store.record_outcomes("me", [row], list(finish.values())) == {kept}
    rows = await pool.fetch(
        "SELECT notification_id::text AS id, status, claimed_by, attempts FROM notifications"
    )
    by_id = {r["id"]: (r["status"], r["claimed_by"], r["attempts"]) for r in rows}
    assert by_id == {
        kept: ("SENT", None, 1),
        lost: ("SENDING", "you", 2),
        done: ("SENT", None, 1),
    }


async def test_an_outcome_does_not_wait_for_another_senders_delivery_rows(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore
) -> None:
    """Another sender's deliveries INSERT for the same (taken-over) notification holds
    a key-share lock on it (its foreign-key check) until it commits. The outcome must
    not queue behind it: two such transactions, each waiting for the other, deadlock."""
    nid, finish = await one_claimed(pool, store)
    other = "00000000-0000-4000-8000-000000000010"
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status)"
            " VALUES ($1::uuid, $2::uuid, 'webhook', 'SENT')",
            nid,
            other,
        )
        # a second pool connection (the pool has several) writes the outcome meanwhile
        assert await asyncio.wait_for(store.record_outcomes("me", [], [finish]), 5) == {nid}


async def test_an_outcome_that_waited_for_a_row_lock_is_still_written(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore
) -> None:
    """A row lock that waited for another transaction returns the row's newest version;
    the outcome must land on that version, not silently miss it (one statement that
    locks and then updates by ctid looks the ctid up in its older snapshot: UPDATE 0)."""
    nid, finish = await one_claimed(pool, store)
    async with pool.acquire() as other:
        blocker = other.transaction()
        await blocker.start()
        # a writer that leaves the claim alone (a new version of the row, same claim)
        await other.execute(
            "UPDATE notifications SET last_error = 'touched' WHERE notification_id = $1::uuid",
            nid,
        )
        recording = asyncio.create_task(store.record_outcomes("me", [], [finish]))
        await wait_for_a_lock_wait(pool)
        await blocker.commit()
        assert await asyncio.wait_for(recording, 5) == {nid}
    row = await pool.fetchrow(
        "SELECT status, claimed_by FROM notifications WHERE notification_id = $1::uuid", nid
    )
    assert tuple(row) == ("SENT", None)


async def one_claimed(pool: asyncpg.Pool[Any], store: PostgresSenderStore) -> tuple[str, Finish]:
    """A notification claimed by "me", and the SENT outcome that claim would write."""
    rule = await seed_rule(pool, "acme")
    nid = await insert_notification(pool, "acme", [rule])
    [claim] = await store.claim_ready([nid], "me", 30)
    return nid, Finish(nid, claim.lease, "SENT", 0, None, False)


async def wait_for_a_lock_wait(pool: asyncpg.Pool[Any]) -> None:
    """Until some backend of this database waits for a row lock. (Asked outside the
    blocking transaction: pg_stat_activity stays the same within one.)"""
    for _ in range(500):
        waiting = await pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the outcome never waited for the row lock")
