"""The worker times each call for the attempt log: the wall clock when the call began
(after its slot was free), the duration on its monotonic clock, both injected; a call
cancelled at the lease budget is timed until its outcome is decided, and one cancelled
before it began (waiting for its rate-limit token) is not logged at all."""

from __future__ import annotations

import asyncio
import dataclasses

from alerting.domain.delivery import Attempt, Outcome, Target
from alerting.domain.delivery_messages import OutgoingNotification
from alerting.services.sender.call_timing import NOT_STARTED
from alerting.services.sender.store import DeliveryRow
from alerting.services.sender.worker import LEASE_BUDGET, Worker
from tests.unit.sender_support import MemoryStore
from tests.unit.test_sender_worker import (
    HANG,
    OWNER,
    SETTINGS,
    FakeClock,
    ScriptedChannels,
    claim,
    endpoint,
    id_of,
)

EPOCH = 1_700_000_000.0  # the fake wall clock's reading at the fake monotonic 0


class TakingTime(ScriptedChannels):
    """Each call advances the fake clock by ``took_s`` before it answers (or hangs)."""

    def __init__(self, clock: FakeClock, took_s: float, answers: dict[str, object]) -> None:
        super().__init__(answers)
        self.clock = clock
        self.took_s = took_s

    async def deliver(self, notification: OutgoingNotification, target: Target) -> Attempt:
        self.clock.now += self.took_s
        return await super().deliver(notification, target)


def worker(store: MemoryStore, channels: ScriptedChannels, clock: FakeClock) -> Worker:
    return Worker(
        store, channels, SETTINGS, OWNER,
        clock=clock, sleep=clock.sleep, wall_clock=lambda: EPOCH + clock.now,
    )  # fmt: skip


def timing(row: DeliveryRow) -> tuple[float | None, int | None, str | None]:
    return row.started_at, row.duration_ms, row.excerpt


async def test_each_endpoint_of_a_target_gets_the_calls_start_duration_and_excerpt() -> None:
    clock = FakeClock()
    c = claim()
    # Two endpoints with one URL are one target, called once and logged for both.
    endpoints = [endpoint("e-1", "https://a.example"), endpoint("e-2", "https://a.example")]
    store = MemoryStore(endpoints={id_of(c): endpoints})
    answer = Attempt(Outcome.RETRY, "HTTP 500", 500, excerpt="upstream down")
    channels = TakingTime(clock, 0.25, {"https://a.example": answer})
    start = clock.now
    await worker(store, channels, clock).deliver([c], "poll")

    assert [timing(r) for r in store.only.deliveries] == [
        (EPOCH + start, 250, "upstream down"),
        (EPOCH + start, 250, "upstream down"),
    ]
    assert [r.endpoint_id for r in store.only.deliveries] == ["e-1", "e-2"]


async def test_a_call_cancelled_at_the_lease_budget_is_timed_until_then() -> None:
    clock = FakeClock()
    c = claim()

    def slow_read() -> None:
        clock.now += SETTINGS.lease_s * LEASE_BUDGET - 0.05

    store = MemoryStore(
        endpoints={id_of(c): [endpoint("e-1", "https://hangs.example")]},
        reading_endpoints=slow_read,
    )
    channels = TakingTime(clock, 0.04, {"https://hangs.example": HANG})
    await asyncio.wait_for(worker(store, channels, clock).deliver([c], "poll"), 2)

    [row] = store.only.deliveries
    called_at = 1000.0 + SETTINGS.lease_s * LEASE_BUDGET - 0.05  # after the slow read
    assert row.status == "RETRY" and row.started_at == EPOCH + called_at
    assert row.duration_ms == 40 and row.excerpt is None


async def test_a_call_cancelled_while_waiting_for_its_token_is_not_logged_as_an_attempt() -> None:
    """At one delivery a second, the second notification to a URL waits (up to a
    second) for its token; the lease budget ends during that wait. Its receiver was
    never contacted: no delivery row, no attempt in the log; the notification is
    retried with an error saying so, not "no answer"."""
    clock = FakeClock()
    first, second = claim(), claim()

    def slow_read() -> None:
        clock.now += SETTINGS.lease_s * LEASE_BUDGET - 0.05

    hook = "https://paced.example"
    store = MemoryStore(
        endpoints={id_of(first): [endpoint("e-1", hook)], id_of(second): [endpoint("e-2", hook)]},
        reading_endpoints=slow_read,
    )
    channels = ScriptedChannels()
    paced = dataclasses.replace(SETTINGS, rate_per_s=1, rate_burst=1)
    busy = Worker(store, channels, paced, OWNER, clock=clock, sleep=clock.sleep)
    await asyncio.wait_for(busy.deliver([first, second], "poll"), 2)

    assert channels.calls == [(id_of(first), hook)]
    assert [(r.notification_id, r.status) for r in store.only.deliveries] == [
        (id_of(first), "SENT")
    ]
    _, waited = store.only.finishes
    assert (waited.notification_id, waited.status, waited.refund) == (id_of(second), "RETRY", False)
    assert waited.error == f"webhook e-2: {NOT_STARTED.error}"
    assert "not called" in (NOT_STARTED.error or "")
