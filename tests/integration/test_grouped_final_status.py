"""A GROUPED notification's final status over real Postgres (docs/grouping.md, "The
final status"): settled once no GROUPED delivery is left, from the sender's verdict on
its ungrouped endpoints and its grouped deliveries, whichever writer comes last, and by
the flusher's sweep when no writer is left. Interleavings are forced by hand: a second
connection holds a transaction open while the code under test runs into it."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from typing import Any

import asyncpg
import pytest

from alerting.config import Settings
from alerting.domain.delivery import Attempt
from alerting.services.sender import group_statements as gsql
from alerting.services.sender.repo import PostgresSenderStore
from alerting.services.sender.store import DeliveryRow, Finish
from tests.integration.flusher_support import (
    CHANNEL,
    DigestSink,
    Group,
    deliveries,
    flusher,
    group_store,
    pool,
    seed_group,
    sink,
)
from tests.integration.sender_support import add_endpoint, insert_notification, seed_rule
from tests.integration.test_sender_join_repo import grouped_rule, join

pytestmark = pytest.mark.integration
__all__ = ["pool", "sink"]  # fixtures

GAVE_UP = "gave up after 3 attempts: webhook e-q: HTTP 503"


async def blocked(pool: asyncpg.Pool[Any]) -> bool:
    """Whether some session of this database waits for a lock (within 5 s)."""
    for _ in range(100):
        waiting = await pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        if waiting:
            return True
        await asyncio.sleep(0.05)
    return False


async def status(pool: asyncpg.Pool[Any], nid: str) -> tuple[str, str | None]:
    row = await pool.fetchrow(
        "SELECT status, last_error FROM notifications WHERE notification_id = $1::uuid", nid
    )
    assert row is not None
    return row["status"], row["last_error"]


async def claim_again(pool: asyncpg.Pool[Any], nid: str, owner: str = "me") -> Finish:
    """``nid`` claimed by a sender: the GROUPED finish that claim writes."""
    await pool.execute(
        "UPDATE notifications SET status = 'PENDING' WHERE notification_id = $1::uuid", nid
    )
    [c] = await PostgresSenderStore(pool).claim_ready([nid], owner, 30)
    return Finish(nid, c.lease, "GROUPED", 0, None, False)


@pytest.mark.parametrize("digest", ["sent", "failed"])
async def test_the_sender_verdict_and_the_digest_decide_and_a_stale_retry_row_does_not(
    pool: asyncpg.Pool[Any], settings: Settings, sink: DigestSink, digest: str
) -> None:
    group = await seed_group(pool, 2)
    gave_up, clean = group.members
    # the sender gave up on an ungrouped endpoint beside the join of `gave_up`
    await pool.execute(
        "UPDATE notifications SET last_error = $2 WHERE notification_id = $1::uuid",
        gave_up, GAVE_UP,
    )  # fmt: skip
    # an endpoint disabled since its transient failure: its RETRY row stays for ever
    for nid in group.members:
        await pool.execute(
            "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status)"
            " VALUES ($1::uuid, $2::uuid, 'webhook', 'RETRY')",
            nid, str(uuid.uuid4()),
        )  # fmt: skip
    if digest == "failed":
        sink.answers = [Attempt.permanent("HTTP 400", 400)]

    assert await flusher(pool, settings).flush_once(10) == 1

    if digest == "sent":
        assert await status(pool, gave_up) == ("FAILED", GAVE_UP)
        assert await status(pool, clean) == ("SENT", None)
    else:
        failed = f"{CHANNEL} {group.endpoint_id}: HTTP 400"
        assert await status(pool, gave_up) == ("FAILED", f"{GAVE_UP}; {failed}")
        assert await status(pool, clean) == ("FAILED", failed)


async def test_a_sender_finishing_grouped_after_its_digest_was_sent_settles_it(
    pool: asyncpg.Pool[Any],
) -> None:
    # A retry claim read the grouped delivery as GROUPED; a flusher sent the digest and
    # skipped the notification (SENDING) before this claim's outcome.
    group = await seed_group(pool, 1, delivery="SENT")
    [nid] = group.members
    finish = await claim_again(pool, nid)
    assert await PostgresSenderStore(pool).record_outcomes("me", [], [finish]) == {nid}
    assert await status(pool, nid) == ("SENT", None)


async def share_member(pool: asyncpg.Pool[Any], first: Group, second: Group) -> str:
    """Makes ``second``'s only member ``first``'s: one notification, two grouped
    endpoints (two groups)."""
    [nid], [other] = first.members, second.members
    await pool.execute(
        "UPDATE deliveries SET notification_id = $1::uuid WHERE group_id = $2::uuid",
        nid, second.group_id,
    )  # fmt: skip
    await pool.execute("DELETE FROM notifications WHERE notification_id = $1::uuid", other)
    return nid


async def test_two_flushers_finishing_two_groups_of_one_notification_settle_it(
    pool: asyncpg.Pool[Any], settings: Settings, sink: DigestSink
) -> None:
    first = await seed_group(pool, 1)
    second = await seed_group(pool, 1, due_in_s=60)  # the other flusher's, by hand
    nid = await share_member(pool, first, second)
    async with pool.acquire() as other, other.transaction():
        await other.execute(gsql.LOCK_MEMBERS, [nid])
        await other.execute(
            "UPDATE deliveries SET status = 'SENT' WHERE group_id = $1::uuid", second.group_id
        )
        await other.execute(gsql.FINALISE, [nid])  # sees the first group's still GROUPED
        flushing = asyncio.create_task(flusher(pool, settings).flush_once(10))
        assert await blocked(pool)  # waits for the other's lock on the notification
    assert await flushing == 1
    assert await status(pool, nid) == ("SENT", None)


async def test_a_late_senders_joins_are_not_written_when_its_claim_was_lost(
    pool: asyncpg.Pool[Any],
) -> None:
    rule, hook = await grouped_rule(pool)
    nid = await insert_notification(pool, "acme", [rule])
    finish = await claim_again(pool, nid)
    await pool.execute("UPDATE notifications SET claimed_by = 'took-over'")
    store = PostgresSenderStore(pool)
    assert await store.record_outcomes("me", [], [finish], [join(nid, rule, hook)]) == set()
    assert await pool.fetchval("SELECT count(*) FROM notification_groups") == 0
    assert await pool.fetchval("SELECT count(*) FROM deliveries") == 0


async def test_the_sweep_settles_only_old_grouped_notifications_with_nothing_grouped_left(
    pool: asyncpg.Pool[Any],
) -> None:
    group = await seed_group(pool, 3, delivery="SENT")
    stranded, waiting, recent = group.members
    await pool.execute(
        "UPDATE notifications SET updated_at = now() - interval '2 minutes'"
        " WHERE notification_id = ANY($1::uuid[])",
        [stranded, waiting],
    )
    await pool.execute(
        "UPDATE deliveries SET status = 'GROUPED' WHERE notification_id = $1::uuid", waiting
    )
    assert await group_store(pool).settle_stranded(10) == 1
    assert await status(pool, stranded) == ("SENT", None)
    assert (await status(pool, waiting))[0] == "GROUPED"
    assert (await status(pool, recent))[0] == "GROUPED"


async def test_a_late_ungrouped_result_never_overwrites_a_grouped_delivery(
    pool: asyncpg.Pool[Any],
) -> None:
    group = await seed_group(pool, 1)
    [nid] = group.members
    late = DeliveryRow(
        nid, group.endpoint_id, CHANNEL, "SENT", None, 200, started_at=time.time(), duration_ms=5
    )
    assert await PostgresSenderStore(pool).record_outcomes("me", [late], []) == set()
    [row] = await deliveries(pool, group)
    assert (row["status"], row["attempts"]) == ("GROUPED", 0)
    assert await pool.fetchval("SELECT count(*) FROM delivery_attempts") == 0


async def test_a_deleted_clients_join_does_not_fail_the_batch(
    pool: asyncpg.Pool[Any], sink: DigestSink
) -> None:
    rule, hook = await grouped_rule(pool)
    gone = await insert_notification(pool, "acme", [rule])
    other_rule = await seed_rule(pool, "globex")
    other_hook = await add_endpoint(pool, other_rule, CHANNEL, "sink-globex")
    kept = await insert_notification(pool, "globex", [other_rule])
    finishes = [await claim_again(pool, gone), await claim_again(pool, kept)]
    finishes[1] = Finish(kept, finishes[1].lease, "SENT", 0, None, False)
    await pool.execute("DELETE FROM clients WHERE client_id = 'acme'")  # purge in flight
    sent = DeliveryRow(kept, other_hook, CHANNEL, "SENT", None, 200, None, time.time(), 5)

    store = PostgresSenderStore(pool)
    assert await store.record_outcomes("me", [sent], finishes, [join(gone, rule, hook)]) == {
        gone,
        kept,
    }
    assert (await status(pool, kept))[0] == "SENT"
    assert await pool.fetchval("SELECT count(*) FROM notification_groups") == 0


async def test_a_flusher_locks_its_groups_in_the_join_order_and_never_deadlocks(
    pool: asyncpg.Pool[Any], settings: Settings, sink: DigestSink
) -> None:
    a, b = await seed_group(pool, 1), await seed_group(pool, 1)
    first, second = sorted((a, b), key=lambda g: uuid.UUID(g.endpoint_id))
    # group ids in the reverse of the key order (endpoint, kind, group key)
    for g, new_id in ((first, "ffffffff-ffff-4fff-bfff-ffffffffffff"),
                      (second, "00000000-0000-4000-8000-000000000001")):  # fmt: skip
        await pool.execute(
            "UPDATE notification_groups SET group_id = $2::uuid WHERE group_id = $1::uuid;",
            g.group_id, new_id,
        )  # fmt: skip
        await pool.execute(
            "UPDATE deliveries SET group_id = $2::uuid WHERE group_id = $1::uuid",
            g.group_id, new_id,
        )  # fmt: skip
        g.group_id = new_id
    store = group_store(pool)
    claims = await store.claim_groups("f:1", 30, 10)
    called = dataclasses.replace(Attempt.sent(200), started_at=time.time(), duration_ms=5)
    outcomes = [flusher(pool, settings).decide(c, called) for c in claims]
    lock = "SELECT 1 FROM notification_groups WHERE group_id = $1::uuid FOR NO KEY UPDATE"
    async with pool.acquire() as joiner, joiner.transaction():  # a sender's JOIN_GROUPS
        await joiner.execute(lock, first.group_id)
        writing = asyncio.create_task(store.record_digests("f:1", outcomes))
        assert await blocked(pool)
        await asyncio.wait_for(joiner.execute(lock, second.group_id), 5)
    assert await writing == {first.group_id, second.group_id}


async def test_a_member_changed_while_its_digest_is_made_is_not_marked(
    pool: asyncpg.Pool[Any], sink: DigestSink
) -> None:
    group = await seed_group(pool, 2)
    changed, waiting = group.members
    async with pool.acquire() as other, other.transaction():
        await other.execute(
            "UPDATE deliveries SET status = 'SENT' WHERE notification_id = $1::uuid", changed
        )
        claiming = asyncio.create_task(group_store(pool).claim_groups("f:1", 30, 10))
        assert await blocked(pool)
    [claim] = await claiming
    marked = {r["id"]: (r["status"], r["digest_id"]) for r in await deliveries(pool, group)}
    assert marked == {
        changed: ("SENT", None),
        waiting: ("GROUPED", claim.digest.digest_id),
    }


async def test_the_sweep_reads_a_bounded_stretch_and_the_next_sweep_the_stretch_after(
    pool: asyncpg.Pool[Any],
) -> None:
    # Every member waiting for its digest is GROUPED: a sweep reads `limit` of them from
    # where the last one stopped, so a stranded row behind many waiting ones is found by
    # a later sweep, and the sweeps start over after the last stretch.
    group = await seed_group(pool, 5)
    members = group.members  # sorted ids; all waiting (GROUPED deliveries)
    await pool.execute(
        "UPDATE notifications SET updated_at = '2026-01-01T00:00:00Z'"
        " WHERE notification_id = ANY($1::uuid[])",
        members,
    )
    last = members[-1]
    await pool.execute(
        "UPDATE deliveries SET status = 'SENT' WHERE notification_id = $1::uuid", last
    )
    store = group_store(pool)
    assert [await store.settle_stranded(2) for _ in range(2)] == [0, 0]  # members 1-4
    assert await store.settle_stranded(2) == 1  # the fifth, stranded, in the third stretch
    assert await status(pool, last) == ("SENT", None)
    await pool.execute(
        "UPDATE deliveries SET status = 'SENT' WHERE notification_id = $1::uuid", members[0]
    )
    assert await store.settle_stranded(2) == 1  # started over: the first stretch again
