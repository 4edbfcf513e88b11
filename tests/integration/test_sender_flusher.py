"""The group flusher over real Postgres (docs/grouping.md "Groups"): a due group's
digest fixed and delivered once, its outcome written to the digest, the members'
deliveries, attempt log and notifications, and the group's next due time."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from alerting.config import Settings
from alerting.domain.delivery import Attempt, Outcome, receiver_gone
from alerting.domain.delivery_messages import Digest
from alerting.services.sender import group_repo
from tests.integration.flusher_support import (
    CHANNEL,
    DigestSink,
    Group,
    attempt_log,
    deliveries,
    flusher,
    group_row,
    pool,
    seed_group,
    sink,
)
from tests.integration.sender_support import insert_resolved

pytestmark = pytest.mark.integration
__all__ = ["pool", "sink"]  # fixtures


def ids(d: Digest) -> list[str]:
    return [m.notification_id for m in d.members]


async def test_a_due_group_goes_out_as_one_digest_and_its_members_become_final(
    pool: asyncpg.Pool[Any], settings: Settings, sink: DigestSink
) -> None:
    group = await seed_group(pool, 3)
    later = await seed_group(pool, 2, due_in_s=60)  # not due
    held = await seed_group(pool, 1)  # another flusher's live claim
    await pool.execute(
        "UPDATE notification_groups SET claimed_by = 'other', claim_expires_at = now()"
        " + interval '1 minute' WHERE group_id = $1::uuid",
        held.group_id,
    )
    # a member's recovery waits for it (due in 5 minutes): the flush wakes it
    resolved = await insert_resolved(pool, group.members[0])
    await pool.execute(
        "UPDATE rules SET grouping = $2 WHERE rule_id = $1::uuid",
        group.rule_id,
        {"group_by": ["source"], "repeat_interval_s": 7200},
    )

    assert await flusher(pool, settings).flush_once(10) == 1

    [digest] = sink.digests
    assert digest.group_id == group.group_id and digest.seq == 1 and not digest.repeat
    assert ids(digest) == group.members
    assert digest.labels == {"source": "payments"} and digest.kind == "firing"
    assert digest.attempts == 1 and digest.still_firing == 3
    rows = await deliveries(pool, group)
    assert {(r["status"], r["attempts"], r["digest_id"], r["notification"]) for r in rows} == {
        ("SENT", 1, digest.digest_id, "SENT")
    }
    assert all(r["sent_at"] is not None for r in rows)
    assert await attempt_log(pool, group) == [
        (m, 1, "SENT", digest.digest_id) for m in group.members
    ]
    stored = await pool.fetchrow(
        "SELECT status, attempts, response_code, sent_at IS NOT NULL AS sent, members,"
        " notification_ids::text[] AS ids FROM notification_digests WHERE digest_id = $1::uuid",
        digest.digest_id,
    )
    assert dict(stored or {}) == {
        "status": "SENT", "attempts": 1, "response_code": 200, "sent": True, "members": 3,
        "ids": group.members,
    }  # fmt: skip
    woken = await pool.fetchval(
        "SELECT next_attempt_at <= now() FROM notifications WHERE notification_id = $1::uuid",
        uuid.UUID(resolved),
    )
    assert woken
    # two members still fire: the group is re-announced after the rule's current
    # repeat_interval_s (refreshed from the rule: 7200, not the group's 3600)
    row = await group_row(pool, group.group_id)
    assert row["flushes"] == 1 and row["flushed"] and row["closed_at"] is None
    assert row["claimed_by"] is None and row["claim_expires_at"] is None
    assert row["repeat_interval_s"] == 7200
    assert timedelta(seconds=7190) < row["due_in"] <= timedelta(seconds=7200)
    for untouched in (later, held):
        assert (await group_row(pool, untouched.group_id))["flushes"] == 0
        assert {r["status"] for r in await deliveries(pool, untouched)} == {"GROUPED"}


async def test_a_transient_failure_resends_the_same_digest_until_it_gives_up(
    pool: asyncpg.Pool[Any], settings: Settings, sink: DigestSink
) -> None:
    group = await seed_group(pool, 2)
    sink.answers = [
        Attempt(Outcome.RETRY, "HTTP 503", 503, retry_after_s=120),
        Attempt.transient("HTTP 502", 502),
    ]
    f = flusher(pool, settings, max_attempts=2, backoff_base_ms=100, backoff_max_ms=600_000)

    assert await f.flush_once(10) == 1
    first = sink.digests[0]
    digest = await pool.fetchrow(
        "SELECT status, attempts, last_error, next_attempt_at - now() AS wait"
        " FROM notification_digests WHERE digest_id = $1::uuid",
        first.digest_id,
    )
    assert digest is not None and (digest["status"], digest["attempts"]) == ("RETRY", 1)
    assert timedelta(seconds=119) < digest["wait"] <= timedelta(seconds=120)  # Retry-After
    row = await group_row(pool, group.group_id)
    assert abs(row["due_in"] - digest["wait"]) < timedelta(seconds=1)
    assert row["flushes"] == 0 and row["claimed_by"] is None
    rows = await deliveries(pool, group)
    assert {(r["status"], r["attempts"], r["digest_id"]) for r in rows} == {
        ("GROUPED", 1, first.digest_id)
    }
    assert await f.flush_once(10) == 0  # not due yet: nothing claimed

    await pool.execute(
        "UPDATE notification_digests SET next_attempt_at = now() WHERE digest_id = $1::uuid;",
        first.digest_id,
    )
    await pool.execute(
        "UPDATE notification_groups SET due_at = now() WHERE group_id = $1::uuid", group.group_id
    )
    assert await f.flush_once(10) == 1
    second = sink.digests[1]
    assert (second.digest_id, ids(second), second.attempts) == (first.digest_id, ids(first), 2)
    rows = await deliveries(pool, group)
    assert {(r["status"], r["attempts"], r["notification"]) for r in rows} == {
        ("FAILED", 2, "FAILED")
    }
    assert all("gave up after 2 attempts: HTTP 502" in r["last_error"] for r in rows)
    assert all(
        r["notification_error"] == f"test_digest {group.endpoint_id}: {r['last_error']}"
        for r in rows
    )
    assert [a[1:3] for a in await attempt_log(pool, group)] == [(1, "RETRY"), (2, "RETRY")] * 2
    # nothing waits and nothing fires (no member was delivered): the group closes
    row = await group_row(pool, group.group_id)
    assert row["closed_at"] is not None and row["due_at"] is None and row["flushes"] == 1


@pytest.mark.parametrize("gone", ["disabled", "deleted", "another client's"])
async def test_an_unreachable_endpoint_fails_the_waiting_members_and_closes_the_group(
    pool: asyncpg.Pool[Any], settings: Settings, sink: DigestSink, gone: str
) -> None:
    group = await seed_group(pool, 2)
    if gone == "disabled":
        await pool.execute(
            "UPDATE endpoints SET enabled = false WHERE endpoint_id = $1::uuid", group.endpoint_id
        )
    elif gone == "deleted":
        await pool.execute("DELETE FROM endpoints WHERE endpoint_id = $1::uuid", group.endpoint_id)
    else:  # the group names an endpoint of another tenant's rule: never reached
        await pool.execute(
            "INSERT INTO clients (client_id, name) VALUES ('globex', 'G');"
            " UPDATE notification_groups SET client_id = 'globex'"
        )

    assert await flusher(pool, settings).flush_once(10) == 1

    assert sink.digests == []
    reason = "endpoint disabled" if gone == "disabled" else "endpoint deleted"
    rows = await deliveries(pool, group)
    assert {(r["status"], r["last_error"], r["notification"]) for r in rows} == {
        ("FAILED", reason, "FAILED")
    }
    assert await attempt_log(pool, group) == []  # nothing was called
    row = await group_row(pool, group.group_id)
    assert row["closed_at"] is not None and row["claimed_by"] is None


async def test_a_firing_group_past_its_repeat_interval_re_announces_the_members_still_firing(
    pool: asyncpg.Pool[Any], settings: Settings, sink: DigestSink
) -> None:
    group = await seed_group(pool, 3, delivery="SENT", repeat_interval_s=3600)
    await pool.execute(
        "UPDATE notification_groups SET last_flushed_at = now() - interval '2 hours', flushes = 1"
    )
    await insert_resolved(pool, group.members[1])  # its episode is over

    assert await flusher(pool, settings).flush_once(10) == 1

    [digest] = sink.digests
    assert digest.repeat and digest.seq == 1 and digest.title.startswith("[FIRING] 2 alerts still")
    assert ids(digest) == [group.members[0], group.members[2]]
    rows = await deliveries(pool, group)
    assert {(r["status"], r["attempts"], r["digest_id"]) for r in rows} == {("SENT", 0, None)}
    row = await group_row(pool, group.group_id)
    assert row["flushes"] == 2 and timedelta(seconds=3590) < row["due_in"]

    # all resolved: the next due flush has nothing to send or re-announce, and closes
    for m in (group.members[0], group.members[2]):
        await insert_resolved(pool, m)
    await pool.execute("UPDATE notification_groups SET due_at = now()")
    assert await flusher(pool, settings).flush_once(10) == 0
    assert len(sink.digests) == 1
    assert (await group_row(pool, group.group_id))["closed_at"] is not None


async def test_a_storm_bigger_than_one_digest_goes_out_in_several_back_to_back(
    pool: asyncpg.Pool[Any],
    settings: Settings,
    sink: DigestSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(group_repo, "MAX_DIGEST_MEMBERS", 2)
    group = await seed_group(pool, 3)
    f = flusher(pool, settings)
    assert await f.flush_once(10) == 1
    assert await f.flush_once(10) == 1  # due again at once, not after group_interval_s
    assert [(d.seq, len(d.members)) for d in sink.digests] == [(1, 2), (2, 1)]
    assert [m.notification_id for d in sink.digests for m in d.members] == group.members
    assert {r["status"] for r in await deliveries(pool, group)} == {"SENT"}


async def test_a_receiver_that_answers_410_gone_has_its_endpoint_disabled(
    pool: asyncpg.Pool[Any], settings: Settings, sink: DigestSink
) -> None:
    group = await seed_group(pool, 2)
    sink.answers = [receiver_gone(Attempt.permanent("HTTP 410", 410), 1_700_000_000)]
    assert await flusher(pool, settings).flush_once(10) == 1
    endpoint = await pool.fetchrow(
        "SELECT enabled, disabled_reason FROM endpoints WHERE endpoint_id = $1::uuid",
        group.endpoint_id,
    )
    assert endpoint is not None and not endpoint["enabled"]
    assert endpoint["disabled_reason"] == "receiver answered 410 Gone at 2023-11-14T22:13:20Z"
    rows = await deliveries(pool, group)
    assert {(r["status"], r["last_error"], r["notification"]) for r in rows} == {
        ("FAILED", "HTTP 410", "FAILED")
    }


async def join_resolved_group(pool: asyncpg.Pool[Any], firing: Group, members: list[str]) -> str:
    """A due resolved group beside ``firing`` (same endpoint and group key) whose members
    are the resolved notifications of ``members``, as the join path leaves them."""
    group_id = str(uuid.uuid4())
    await pool.execute(
        "INSERT INTO notification_groups (group_id, client_id, rule_id, endpoint_id, kind,"
        " labels, group_key, key_hash, group_wait_s, group_interval_s, repeat_interval_s,"
        " due_at)"
        " SELECT $2::uuid, client_id, rule_id, endpoint_id, 'resolved', labels, group_key,"
        " key_hash,"
        " group_wait_s, group_interval_s, repeat_interval_s, now() - interval '1 second'"
        " FROM notification_groups WHERE group_id = $1::uuid",
        firing.group_id, group_id,
    )  # fmt: skip
    for m in members:
        resolved = await insert_resolved(pool, m, status="GROUPED")
        await pool.execute(
            "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status,"
            " group_id) VALUES ($1::uuid, $2::uuid, $3, 'GROUPED', $4::uuid)",
            resolved, firing.endpoint_id, CHANNEL, group_id,
        )  # fmt: skip
    return group_id


async def test_a_resolved_digest_counts_the_members_of_its_key_still_firing(
    pool: asyncpg.Pool[Any], settings: Settings, sink: DigestSink
) -> None:
    firing = await seed_group(pool, 3, delivery="SENT", due_in_s=3600)
    other_key = await seed_group(pool, 2, delivery="SENT", due_in_s=3600)  # never counted
    first = await join_resolved_group(pool, firing, firing.members[:1])

    assert await flusher(pool, settings).flush_once(10) == 1
    [update] = sink.digests
    assert (update.group_id, update.kind, update.still_firing) == (first, "resolved", 2)
    assert (await group_row(pool, first))["closed_at"] is not None  # nothing pending

    last = await join_resolved_group(pool, firing, firing.members[1:])
    assert await flusher(pool, settings).flush_once(10) == 1
    assert (sink.digests[-1].group_id, sink.digests[-1].still_firing) == (last, 0)
    assert other_key.group_id not in {d.group_id for d in sink.digests}
