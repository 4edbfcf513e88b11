"""The group flusher's logic over an in-memory store and a fake clock: what a try of a
digest comes to, the lease budget, unreachable endpoints and lost claims."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Sequence
from datetime import UTC, datetime

from alerting.config import SenderSettings
from alerting.domain.delivery import Attempt, Outcome, Target
from alerting.domain.delivery_messages import Digest, OutgoingNotification
from alerting.domain.grouping import GroupingPolicy
from alerting.services.sender import metrics
from alerting.services.sender.flusher import STRANDED_EVERY_S, STRANDED_SCAN, Flusher
from alerting.services.sender.group_store import DigestOutcome, GroupClaim
from alerting.services.sender.outcome_write import WRITE_DEADLINE
from alerting.services.sender.store import StoreUnavailable

SETTINGS = SenderSettings(
    concurrency=4, max_attempts=3, backoff_base_ms=1000, backoff_max_ms=60_000, lease_s=10,
    poll_interval_ms=100, http_timeout_s=5, rate_per_s=50, rate_burst=100, smtp_pool_size=1,
    smtp_timeout_s=5,
)  # fmt: skip
LEASE = datetime(2026, 1, 1, tzinfo=UTC)
TARGET = Target("webhook", "https://hooks.example/x", None, ("e1",), None)
MEMBER = OutgoingNotification("n1", "acme", "a1", "HIGH", "src", "name", 0, ("r1",), 1)


def claim(group_id: str = "g1", attempts: int = 1, target: Target | None = TARGET) -> GroupClaim:
    digest = Digest(f"d-{group_id}", group_id, "acme", "firing", {}, (MEMBER,), attempts=attempts)
    unreachable = None if target else "endpoint deleted"
    return GroupClaim(digest, "e1", "webhook", target, GroupingPolicy(), LEASE, False, unreachable)


class Store:
    def __init__(self, claims: list[GroupClaim], held: set[str] | None = None) -> None:
        self.claims = claims
        self.held = held
        self.outcomes: list[DigestOutcome] = []
        self.sweeps: list[int] = []

    async def settle_stranded(self, limit: int) -> int:
        self.sweeps.append(limit)
        return 2

    async def claim_groups(self, owner: str, lease_s: float, limit: int) -> list[GroupClaim]:
        claims, self.claims = self.claims[:limit], self.claims[limit:]
        return claims

    async def record_digests(self, owner: str, outcomes: Sequence[DigestOutcome]) -> set[str]:
        self.outcomes += outcomes
        ids = {o.claim.digest.group_id for o in outcomes}
        return ids if self.held is None else ids & self.held


class Receiver:
    def __init__(self, *answers: Attempt, hang: bool = False) -> None:
        self.answers = list(answers)
        self.hang = hang
        self.calls: list[str] = []

    async def deliver_digest(self, digest: Digest, target: Target) -> Attempt:
        self.calls.append(digest.digest_id)
        if self.hang:
            await asyncio.Event().wait()
        return self.answers.pop(0) if self.answers else Attempt.sent(200)


def flusher(store: Store, receiver: Receiver, clock: list[float] | None = None) -> Flusher:
    now = clock if clock is not None else [0.0]

    async def sleep(s: float) -> None:  # the outcome write's backoff, on the fake clock
        now[0] += s

    return Flusher(
        store, receiver, SETTINGS, "me", random.Random(1), clock=lambda: now[0],
        wall_clock=lambda: 1_700_000_000.0, sleep=sleep,
    )  # fmt: skip


class FlakyStore(Store):
    """Outcome writes fail ``failures`` times with a lost connection, each costing
    ``try_s`` of the clock, before they land; ``tries`` holds the clock at each try."""

    def __init__(self, claims: list[GroupClaim], clock: list[float], failures: float) -> None:
        super().__init__(claims)
        self.clock = clock
        self.failures = failures
        self.tries: list[float] = []

    async def record_digests(self, owner: str, outcomes: Sequence[DigestOutcome]) -> set[str]:
        self.tries.append(self.clock[0])
        if self.failures > 0:
            self.failures -= 1
            self.clock[0] += 1.0
            raise StoreUnavailable("ConnectionRefusedError: connection refused")
        return await super().record_digests(owner, outcomes)


async def test_each_claimed_digest_is_delivered_once_and_its_outcome_written() -> None:
    store, receiver = Store([claim("g1"), claim("g2")]), Receiver()
    assert await flusher(store, receiver).flush_once(10) == 2
    assert sorted(receiver.calls) == ["d-g1", "d-g2"]
    assert [(o.status, o.outcome, o.response_code) for o in store.outcomes] == [
        ("SENT", "SENT", 200)
    ] * 2
    assert all(o.started_at == 1_700_000_000.0 for o in store.outcomes)


async def test_a_transient_failure_retries_with_backoff_honouring_retry_after() -> None:
    f = flusher(Store([]), Receiver())
    plain = f.decide(claim(), Attempt.transient("HTTP 502", 502))
    assert plain.status == "RETRY" and 500 <= plain.delay_ms <= 1000  # first backoff
    asked = f.decide(claim(), Attempt(Outcome.RETRY, "HTTP 503", 503, retry_after_s=30))
    assert asked.status == "RETRY" and asked.delay_ms == 30_000 and asked.error == "HTTP 503"


async def test_the_last_try_or_a_permanent_failure_fails_the_digest() -> None:
    f = flusher(Store([]), Receiver())
    last = f.decide(claim(attempts=3), Attempt.transient("HTTP 502", 502))
    assert (last.status, last.delay_ms) == ("FAILED", 0)
    assert last.error == "gave up after 3 attempts: HTTP 502" and last.outcome == "RETRY"
    refused = f.decide(claim(attempts=1), Attempt.permanent("HTTP 400", 400))
    assert (refused.status, refused.error) == ("FAILED", "HTTP 400")


async def test_an_unreachable_endpoint_fails_without_a_call() -> None:
    store, receiver = Store([claim(target=None)]), Receiver()
    await flusher(store, receiver).flush_once(10)
    assert receiver.calls == []
    [o] = store.outcomes
    assert (o.status, o.error, o.outcome, o.started_at) == (
        "FAILED", "endpoint deleted", None, None,
    )  # fmt: skip


async def test_a_call_past_the_lease_budget_is_cancelled_and_counts_transient() -> None:
    clock = [0.0]
    store = Store([claim()])
    original = store.claim_groups

    async def slow_claim(owner: str, lease_s: float, limit: int) -> list[GroupClaim]:
        clock[0] += lease_s  # the claim itself took the whole lease: no budget left
        return await original(owner, lease_s, limit)

    store.claim_groups = slow_claim  # type: ignore[method-assign]
    receiver = Receiver(hang=True)
    await asyncio.wait_for(flusher(store, receiver, clock).flush_once(10), 5)
    [o] = store.outcomes
    assert o.status == "RETRY" and o.error == "no answer within the claim lease"


async def test_an_outcome_whose_claim_was_taken_over_is_not_counted_as_written() -> None:
    store = Store([claim("g1"), claim("g2")], held={"g2"})
    lost, sent = metrics.LOST_CLAIMS._value.get(), digests_sent()
    assert await flusher(store, Receiver()).flush_once(10) == 2
    assert len(store.outcomes) == 2  # both offered; the store wrote g2's only
    assert metrics.LOST_CLAIMS._value.get() == lost + 1
    assert digests_sent() == sent + 1


async def test_nothing_due_makes_no_call() -> None:
    store, receiver = Store([]), Receiver()
    assert await flusher(store, receiver).flush_once(10) == 0
    assert receiver.calls == [] and store.outcomes == []


def digests_sent() -> float:
    value: float = metrics.DIGESTS.labels("webhook", "new", "SENT")._value.get()
    return value


async def test_a_digest_past_its_last_try_fails_without_a_call() -> None:
    store, receiver = Store([claim(attempts=SETTINGS.max_attempts + 1)]), Receiver()
    await flusher(store, receiver).flush_once(10)
    assert receiver.calls == []
    [o] = store.outcomes
    assert o.status == "FAILED" and o.error is not None
    assert o.error.startswith("gave up: every claim expired")


async def test_an_outcome_write_failing_while_postgres_is_away_is_retried_while_held() -> None:
    """The digest was delivered: its outcome lands once Postgres answers again, within
    the lease, and the receiver is not called twice."""
    clock = [0.0]
    store, receiver = FlakyStore([claim()], clock, failures=2), Receiver()
    failed_tries = metrics.OUTCOME_WRITE_FAILURES._value.get()
    sent = digests_sent()
    assert await flusher(store, receiver, clock).flush_once(10) == 1
    assert receiver.calls == ["d-g1"]
    assert len(store.tries) == 3 and store.tries[-1] > store.tries[-2] + 1.0  # backed off
    [o] = store.outcomes
    assert o.status == "SENT"
    assert metrics.OUTCOME_WRITE_FAILURES._value.get() == failed_tries + 2
    assert digests_sent() == sent + 1


async def test_an_outcome_write_failing_until_the_lease_ends_is_given_up() -> None:
    clock = [0.0]
    store = FlakyStore([claim()], clock, failures=math.inf)
    abandoned, sent = metrics.OUTCOMES_ABANDONED._value.get(), digests_sent()
    assert await flusher(store, Receiver(), clock).flush_once(10) == 1  # does not raise
    assert store.outcomes == [] and len(store.tries) > 2
    assert all(t <= SETTINGS.lease_s * WRITE_DEADLINE for t in store.tries)
    assert metrics.OUTCOMES_ABANDONED._value.get() == abandoned + 1  # its one member
    assert digests_sent() == sent


async def test_stranded_grouped_notifications_are_swept_once_a_minute() -> None:
    now = [0.0]
    store = Store([])
    f = flusher(store, Receiver(), now)
    settled = metrics.STRANDED._value.get()
    await f.flush_once(10)  # the first poll sweeps
    now[0] = STRANDED_EVERY_S - 1
    await f.flush_once(10)
    assert store.sweeps == [STRANDED_SCAN]
    now[0] = STRANDED_EVERY_S
    await f.flush_once(10)
    assert store.sweeps == [STRANDED_SCAN] * 2
    assert metrics.STRANDED._value.get() == settled + 4


def paced_flusher(
    store: Store, receiver: Receiver, answers: list[float | None]
) -> tuple[Flusher, list[float], list[float]]:
    """A flusher whose pacing answers ``answers`` in turn; returns it, the waits asked
    for (``max_wait_s``) and the sleeps it took."""
    asked: list[float] = []
    slept: list[float] = []

    def pace(target: Target, max_wait_s: float) -> float | None:
        asked.append(max_wait_s)
        return answers.pop(0)

    async def sleep(s: float) -> None:
        slept.append(s)

    made = Flusher(
        store, receiver, SETTINGS, "me", random.Random(1), clock=lambda: 0.0,
        wall_clock=lambda: 1_700_000_000.0, sleep=sleep, pace=pace,
    )  # fmt: skip
    return made, asked, slept


async def test_a_digest_waits_for_its_destinations_token_before_the_call() -> None:
    store, receiver = Store([claim("g1"), claim("g2")]), Receiver()
    made, asked, slept = paced_flusher(store, receiver, [0.0, 0.75])
    assert await made.flush_once(10) == 2
    assert sorted(receiver.calls) == ["d-g1", "d-g2"]
    # At most half the lease budget (lease 10 s, budget 80 %) is spent waiting.
    assert asked == [4.0, 4.0]
    assert slept == [0.75]  # the first had its token at once
    assert [o.status for o in store.outcomes] == ["SENT", "SENT"]


async def test_a_digest_with_no_token_in_time_is_called_all_the_same() -> None:
    # The receiver's 429 and Retry-After take over from there; waiting longer would eat
    # the lease, deferring would hold the group's members back for nothing.
    store, receiver = Store([claim("g1")]), Receiver()
    made, asked, slept = paced_flusher(store, receiver, [None])
    assert await made.flush_once(10) == 1
    assert receiver.calls == ["d-g1"] and slept == [] and asked == [4.0]
