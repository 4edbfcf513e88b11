"""The group flusher's crash safety and exclusion over real Postgres: a digest fixed
before the call is resent as it is by whoever takes an expired claim over, and two
flushers polling at once never send one group twice."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import asyncpg
import pytest

from alerting.config import Settings
from alerting.domain.delivery import Attempt
from alerting.services.sender.group_store import DigestOutcome, GroupClaim, GroupStore
from tests.integration.flusher_support import (
    DigestSink,
    attempt_log,
    deliveries,
    flusher,
    group_row,
    group_store,
    pool,
    seed_group,
    sink,
)

pytestmark = pytest.mark.integration
__all__ = ["pool", "sink"]  # fixtures


class Crash(Exception):
    """The flusher's process dies between the call and the outcome write."""


class CrashingStore:
    """Claims through the real store, dies before writing any outcome."""

    def __init__(self, real: GroupStore) -> None:
        self._real = real

    async def claim_groups(self, owner: str, lease_s: float, limit: int) -> list[GroupClaim]:
        return await self._real.claim_groups(owner, lease_s, limit)

    async def settle_stranded(self, limit: int) -> int:
        return await self._real.settle_stranded(limit)

    async def record_digests(self, owner: str, outcomes: Sequence[DigestOutcome]) -> set[str]:
        raise Crash


async def test_a_group_whose_flusher_died_is_taken_over_and_its_digest_resent_as_it_was(
    pool: asyncpg.Pool[Any], settings: Settings, sink: DigestSink
) -> None:
    group = await seed_group(pool, 3)
    first = flusher(pool, settings, "dies:1", CrashingStore(group_store(pool)), lease_s=1)
    with pytest.raises(Crash):
        await first.flush_once(10)
    [sent] = sink.digests
    # the claim stays until the lease runs out: nobody else sends meanwhile
    second = flusher(pool, settings, "takes-over:2", lease_s=1)
    assert await second.flush_once(10) == 0
    assert (await group_row(pool, group.group_id))["claimed_by"] == "dies:1"

    await asyncio.sleep(1.2)
    assert await second.flush_once(10) == 1

    [_, resent] = sink.digests
    assert resent.digest_id == sent.digest_id and resent.seq == sent.seq == 1
    assert (sent.attempts, resent.attempts) == (1, 2)  # the crashed call was a try
    assert [m.notification_id for m in resent.members] == group.members
    rows = await deliveries(pool, group)
    assert {(r["status"], r["attempts"], r["digest_id"]) for r in rows} == {
        ("SENT", 1, sent.digest_id)
    }
    assert [a[1:] for a in await attempt_log(pool, group)] == [(1, "SENT", sent.digest_id)] * 3
    digests = await pool.fetch("SELECT digest_id::text, status, attempts FROM notification_digests")
    assert [tuple(d) for d in digests] == [(sent.digest_id, "SENT", 2)]
    row = await group_row(pool, group.group_id)
    assert row["flushes"] == 1 and row["claimed_by"] is None


async def test_the_late_outcome_of_a_taken_over_claim_is_not_written(
    pool: asyncpg.Pool[Any], settings: Settings, sink: DigestSink
) -> None:
    group = await seed_group(pool, 1)
    store = group_store(pool)
    claims = await store.claim_groups("slow:1", 1, 10)
    await asyncio.sleep(1.2)
    assert await flusher(pool, settings, "new:2", lease_s=1).flush_once(10) == 1
    # the slow one's outcome comes too late: the group is the new owner's
    late = flusher(pool, settings).not_called(claims[0])
    assert await store.record_digests("slow:1", [late]) == set()
    assert {r["status"] for r in await deliveries(pool, group)} == {"SENT"}


async def test_two_flushers_polling_at_once_send_each_group_once(
    pool: asyncpg.Pool[Any], settings: Settings, sink: DigestSink
) -> None:
    groups = [await seed_group(pool, 2) for _ in range(8)]
    sink.delay_s = 0.05  # calls overlap the other flusher's claim
    one, two = flusher(pool, settings, "one:1"), flusher(pool, settings, "two:2")
    claimed = await asyncio.gather(*(f.flush_once(3) for _ in range(4) for f in (one, two)))
    assert sum(claimed) == 8
    assert sorted(d.group_id for d in sink.digests) == sorted(g.group_id for g in groups)
    for g in groups:
        assert {(r["status"], r["attempts"]) for r in await deliveries(pool, g)} == {("SENT", 1)}


async def test_a_digest_whose_every_claim_expired_is_given_up_without_another_call(
    pool: asyncpg.Pool[Any], settings: Settings, sink: DigestSink
) -> None:
    group = await seed_group(pool, 2)
    dies = CrashingStore(group_store(pool))
    with pytest.raises(Crash):
        await flusher(pool, settings, "dies:1", dies, lease_s=1, max_attempts=1).flush_once(10)
    await asyncio.sleep(1.2)
    assert await flusher(pool, settings, "next:2", lease_s=1, max_attempts=1).flush_once(10) == 1
    assert len(sink.digests) == 1  # the crashed call was the only try allowed
    rows = await deliveries(pool, group)
    assert {(r["status"], r["notification"]) for r in rows} == {("FAILED", "FAILED")}
    assert all(r["last_error"].startswith("gave up: every claim expired") for r in rows)
    assert (await group_row(pool, group.group_id))["closed_at"] is not None


async def test_a_retried_digest_whose_flusher_died_counts_that_try_too(
    pool: asyncpg.Pool[Any], settings: Settings, sink: DigestSink
) -> None:
    # A RETRY digest is SENDING again while it is resent: a flusher dying during that
    # try leaves it SENDING, so the next claimer counts it, and a digest that answers
    # 503 once and then kills every flusher still reaches its last try.
    group = await seed_group(pool, 2)
    sink.answers = [Attempt.transient("HTTP 503", 503)]
    assert await flusher(pool, settings, "one:1", lease_s=1, max_attempts=3).flush_once(10) == 1
    await pool.execute("UPDATE notification_digests SET next_attempt_at = now()")
    await pool.execute(
        "UPDATE notification_groups SET due_at = now() WHERE group_id = $1::uuid", group.group_id
    )
    dies = CrashingStore(group_store(pool))
    with pytest.raises(Crash):
        await flusher(pool, settings, "dies:2", dies, lease_s=1, max_attempts=3).flush_once(10)
    [(status, attempts)] = await pool.fetch("SELECT status, attempts FROM notification_digests")
    assert (status, attempts) == ("SENDING", 1)  # the try under way is not counted yet
    await asyncio.sleep(1.2)
    assert await flusher(pool, settings, "next:3", lease_s=1, max_attempts=3).flush_once(10) == 1
    third = sink.digests[-1]
    assert len(sink.digests) == 3 and third.attempts == 3  # 503, the crashed try, this one
    [(status, attempts)] = await pool.fetch("SELECT status, attempts FROM notification_digests")
    assert (status, attempts) == ("SENT", 3)
