"""The sender's join path against real Postgres (docs/grouping.md, "Groups"): a grouped
endpoint's delivery joins the endpoint's open group (opening one when none is open),
its deliveries row waits GROUPED in it, and the notification ends GROUPED; the group's
due time follows the timers."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
import pytest

from alerting.domain.grouping import GroupingPolicy, group_key
from alerting.services.sender.repo import PostgresSenderStore
from alerting.services.sender.store import DeliveryRow, Finish, Join
from tests.integration.sender_support import (
    add_endpoint,
    insert_notification,
    pool,
    seed_rule,
    store,
)

pytestmark = pytest.mark.integration
__all__ = ["pool", "store"]  # fixtures

POLICY = GroupingPolicy(("source",), group_wait_s=30, group_interval_s=300, repeat_interval_s=3600)


async def grouped_rule(pool: asyncpg.Pool[Any], policy: object = None) -> tuple[str, str]:
    """A rule of "acme" with a grouping policy and one webhook endpoint: (rule, endpoint)."""
    rule = await seed_rule(pool, "acme")
    await pool.execute(
        "UPDATE rules SET grouping = $2 WHERE rule_id = $1::uuid",
        rule,
        POLICY.to_json() if policy is None else policy,
    )
    hook = await add_endpoint(pool, rule, "email", "ops@acme.example")
    return rule, hook


def join(nid: str, rule: str, endpoint: str, source: str = "payments", **timers: int) -> Join:
    policy = GroupingPolicy(POLICY.group_by, **{**timers_of(POLICY), **timers})
    labels = {"source": source}
    return Join(
        nid, endpoint, "email", "acme", rule, "firing", labels, group_key(labels),
        policy.group_wait_s, policy.group_interval_s, policy.repeat_interval_s,
    )  # fmt: skip


def timers_of(policy: GroupingPolicy) -> dict[str, int]:
    return {k: v for k, v in policy.to_json().items() if k != "group_by"}


async def claimed(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore, rule: str, n: int = 1, owner: str = "me"
) -> dict[str, Finish]:
    """``n`` notifications claimed by ``owner``, each with the GROUPED finish it writes."""
    ids = [await insert_notification(pool, "acme", [rule]) for _ in range(n)]
    claims = await store.claim_ready(ids, owner, 30)
    return {
        c.notification.notification_id: Finish(
            c.notification.notification_id, c.lease, "GROUPED", 0, None, False
        )
        for c in claims
    }


async def join_all(
    store: PostgresSenderStore, rule: str, endpoint: str, finishes: dict[str, Finish]
) -> None:
    """Record ``finishes``, each notification joining ``endpoint``'s payments group."""
    joins = [join(i, rule, endpoint) for i in finishes]
    assert await store.record_outcomes("me", [], list(finishes.values()), joins) == set(finishes)


async def groups(pool: asyncpg.Pool[Any]) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT group_id, group_key, labels, due_at - now() AS due_in, closed_at,"
        " group_wait_s, group_interval_s, repeat_interval_s, client_id, rule_id::text,"
        " endpoint_id::text, kind FROM notification_groups ORDER BY opened_at, group_id"
    )


async def test_a_batch_joins_a_new_group_and_its_notifications_end_grouped(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore
) -> None:
    rule, hook = await grouped_rule(pool)
    finishes = await claimed(pool, store, rule, 2)
    joins = [join(nid, rule, hook) for nid in finishes]
    assert await store.record_outcomes("me", [], list(finishes.values()), joins) == set(finishes)

    [group] = await groups(pool)
    assert (group["client_id"], group["rule_id"], group["endpoint_id"], group["kind"]) == (
        "acme", rule, hook, "firing",
    )  # fmt: skip
    assert group["labels"] == {"source": "payments"} and group["closed_at"] is None
    assert group["group_key"] == group_key({"source": "payments"})
    assert 25 <= group["due_in"].total_seconds() <= 30  # opened now, due group_wait_s on
    rows = await pool.fetch(
        "SELECT status, group_id, digest_id, attempts FROM deliveries"
        " WHERE notification_id = ANY($1::uuid[])",
        list(finishes),
    )
    assert [tuple(r) for r in rows] == [("GROUPED", group["group_id"], None, 0)] * 2
    assert await pool.fetchval("SELECT count(*) FROM delivery_attempts") == 0  # no call made
    states = await pool.fetch(
        "SELECT status, next_attempt_at, sent_at, claimed_by FROM notifications"
        " WHERE notification_id = ANY($1::uuid[])",
        list(finishes),
    )
    assert [tuple(r) for r in states] == [("GROUPED", None, None, None)] * 2


async def test_a_later_batch_joins_the_open_group_without_moving_its_due_time(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore
) -> None:
    rule, hook = await grouped_rule(pool)
    first = await claimed(pool, store, rule)
    await join_all(store, rule, hook, first)
    [opened] = await groups(pool)
    await asyncio.sleep(0.2)
    # The rule's policy changed meanwhile: the group's timers follow it.
    second = await claimed(pool, store, rule)
    joins = [join(i, rule, hook, group_wait_s=60, group_interval_s=600) for i in second]
    await store.record_outcomes("me", [], list(second.values()), joins)

    [joined] = await groups(pool)
    assert joined["group_id"] == opened["group_id"]
    # The first digest waits group_wait_s from the first member, not the last.
    assert abs((joined["due_in"] - opened["due_in"]).total_seconds() + 0.2) < 0.1
    assert (joined["group_wait_s"], joined["group_interval_s"]) == (60, 600)
    members = await pool.fetchval(
        "SELECT count(*) FROM deliveries WHERE group_id = $1", opened["group_id"]
    )
    assert members == 2


async def test_members_of_other_keys_or_of_a_closed_group_open_new_groups(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore
) -> None:
    rule, hook = await grouped_rule(pool)
    first = await claimed(pool, store, rule)
    await join_all(store, rule, hook, first)
    await pool.execute("UPDATE notification_groups SET closed_at = now()")
    later = await claimed(pool, store, rule, 3)
    ids = list(later)
    joins = [join(ids[0], rule, hook), join(ids[1], rule, hook), join(ids[2], rule, hook, "db")]
    await store.record_outcomes("me", [], list(later.values()), joins)

    found = await groups(pool)
    assert len(found) == 3 and found[0]["closed_at"] is not None
    assert {g["group_key"] for g in found[1:] if g["closed_at"] is None} == {
        group_key({"source": "payments"}), group_key({"source": "db"}),
    }  # fmt: skip
    by_member = dict(
        await pool.fetch(
            "SELECT notification_id::text, group_id FROM deliveries"
            " WHERE notification_id = ANY($1::uuid[])",
            ids,
        )
    )
    assert by_member[ids[0]] == by_member[ids[1]] != by_member[ids[2]]
    assert found[0]["group_id"] not in by_member.values()


@pytest.mark.parametrize(
    ("flushed_ago_s", "due_in_s"),
    [
        (3600, 0),  # idle since long ago: the next digest goes now
        (100, 200),  # flushed 100 s ago: not before group_interval_s (300) has passed
    ],
)
async def test_a_member_joining_a_flushed_group_makes_it_due_after_the_interval(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore, flushed_ago_s: int, due_in_s: int
) -> None:
    rule, hook = await grouped_rule(pool)
    first = await claimed(pool, store, rule)
    await join_all(store, rule, hook, first)
    # Flushed: nothing pending, a repeat due in an hour.
    await pool.execute(
        "UPDATE notification_groups SET last_flushed_at = now() - make_interval(secs => $1),"
        " due_at = now() + interval '1 hour', flushes = 1",
        flushed_ago_s,
    )
    later = await claimed(pool, store, rule)
    await join_all(store, rule, hook, later)
    [group] = await groups(pool)
    assert abs(group["due_in"].total_seconds() - due_in_s) < 2


async def test_a_joined_sent_delivery_stays_sent_and_ungrouped_rows_are_written_beside(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore
) -> None:
    """A late sender's join never downgrades a SENT delivery; a batch's ungrouped
    deliveries and joins are written together, each as it should be."""
    rule, hook = await grouped_rule(pool)
    plain = await add_endpoint(pool, rule, "email", "other@acme.example")
    finishes = await claimed(pool, store, rule, 2)
    sent, joined = list(finishes)
    await pool.execute(
        "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status, attempts)"
        " VALUES ($1::uuid, $2::uuid, 'email', 'SENT', 1)",
        sent, hook,
    )  # fmt: skip
    row = DeliveryRow(joined, plain, "email", "SENT", None, 250, None, 1.7e9, 12)
    joins = [join(sent, rule, hook), join(joined, rule, hook)]
    await store.record_outcomes("me", [row], list(finishes.values()), joins)
    rows = await pool.fetch(
        "SELECT notification_id::text, endpoint_id::text, status, group_id IS NOT NULL"
        " FROM deliveries ORDER BY status, notification_id"
    )
    assert sorted(tuple(r) for r in rows) == sorted(
        [(sent, hook, "SENT", False), (joined, hook, "GROUPED", True),
         (joined, plain, "SENT", False)]
    )  # fmt: skip
    logged = await pool.fetch(
        "SELECT notification_id::text, endpoint_id::text FROM delivery_attempts"
    )
    assert [tuple(r) for r in logged] == [(joined, plain)]  # the call, not the join


async def test_two_senders_joining_the_same_groups_at_once_do_not_deadlock(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore
) -> None:
    rule, hook = await grouped_rule(pool)
    sources = ["a", "b", "c", "d"]
    ids = [await insert_notification(pool, "acme", [rule]) for _ in range(80)]
    for _ in range(5):
        await pool.execute("DELETE FROM deliveries")
        await pool.execute("DELETE FROM notification_groups")
        await pool.execute("UPDATE notifications SET status = 'PENDING'")
        # Joins are written for held claims only: each round claims its batch again.
        mine = await store.claim_ready(ids[:40], "me", 30)
        yours = await store.claim_ready(ids[40:], "you", 30)
        finishes = [
            [Finish(c.notification.notification_id, c.lease, "GROUPED", 0, None, False)
             for c in batch]
            for batch in (mine, yours)
        ]  # fmt: skip
        # Each batch lists the keys in the other's reverse order.
        my_joins = [join(f.notification_id, rule, hook, sources[k % 4])
                    for k, f in enumerate(finishes[0])]  # fmt: skip
        your_joins = [join(f.notification_id, rule, hook, sources[3 - k % 4])
                      for k, f in enumerate(finishes[1])]  # fmt: skip
        results = await asyncio.wait_for(
            asyncio.gather(
                store.record_outcomes("me", [], finishes[0], my_joins),
                store.record_outcomes("you", [], finishes[1], your_joins),
            ),
            10,
        )
        assert results == [set(ids[:40]), set(ids[40:])]
        assert len(await groups(pool)) == 4
        assert await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'GROUPED'") == 80


async def test_endpoints_carry_their_rule_and_its_policy_and_a_broken_one_is_ignored(
    pool: asyncpg.Pool[Any], store: PostgresSenderStore, caplog: pytest.LogCaptureFixture
) -> None:
    rule, hook = await grouped_rule(pool)
    broken, broken_hook = await grouped_rule(pool, {"group_by": ["nope"]})
    nid = await insert_notification(pool, "acme", [rule, broken])
    with caplog.at_level(logging.ERROR):
        for _ in range(2):
            found = {e.endpoint_id: e for e in (await store.endpoints_for([nid]))[nid]}
    assert (found[hook].rule_id, found[hook].grouping) == (rule, POLICY)
    assert (found[broken_hook].rule_id, found[broken_hook].grouping) == (broken, None)
    ignored = [r for r in caplog.records if "grouping policy ignored" in r.getMessage()]
    assert len(ignored) == 1 and broken in ignored[0].getMessage()  # once, not per batch
