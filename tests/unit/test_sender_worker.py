"""The sender's Worker over an in-memory store, a scripted dispatcher and a fake clock:
the lease budget, exhaustion, rate-limit deferral and what a batch records. (The SQL
behind the real store is tested against Postgres in tests/integration/test_sender_repo.py.)"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from alerting.adapters.kafka import Record
from alerting.config import SenderSettings
from alerting.domain.delivery import Attempt, NotificationEndpoint, Target
from alerting.domain.delivery_messages import OutgoingNotification
from alerting.domain.model import NotificationReady
from alerting.services.sender import worker
from alerting.services.sender.store import Claim, DeliveryRow, Finish
from alerting.services.sender.worker import EXHAUSTED, LEASE_BUDGET, Worker

LEASE = datetime(2030, 1, 1, tzinfo=UTC)
OWNER = "test:1"
SETTINGS = SenderSettings(
    concurrency=8,
    max_attempts=3,
    backoff_base_ms=1000,
    backoff_max_ms=60_000,
    lease_s=30,
    poll_interval_ms=500,
    http_timeout_s=10,
    rate_per_s=100,
    rate_burst=100,
    smtp_pool_size=1,
    smtp_timeout_s=5,
)
NO_ANSWER = "no answer within the claim lease"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclasses.dataclass
class Recorded:
    owner: str
    deliveries: list[DeliveryRow]
    finishes: list[Finish]


class MemoryStore:
    """A ``SenderStore`` in memory: claims are handed out once, outcomes kept for the test.
    ``lost`` names claims taken over by another sender: their outcome is not held."""

    def __init__(
        self,
        claims: Sequence[Claim] = (),
        endpoints: dict[str, list[NotificationEndpoint]] | None = None,
        lost: frozenset[str] = frozenset(),
        reading_endpoints: Callable[[], None] = lambda: None,
    ) -> None:
        self.claimable = {c.notification.notification_id: c for c in claims}
        self.endpoints = endpoints or {}
        self.lost = lost
        self.reading_endpoints = reading_endpoints  # e.g. a slow read eating the lease
        self.claim_calls: list[tuple[object, ...]] = []
        self.recorded: list[Recorded] = []

    async def claim_ready(self, ids: Sequence[str], owner: str, lease_s: float) -> list[Claim]:
        self.claim_calls.append(("ready", list(ids), owner, lease_s))
        return [self.claimable.pop(i) for i in ids if i in self.claimable]

    async def claim_due(self, owner: str, lease_s: float, limit: int) -> list[Claim]:
        self.claim_calls.append(("due", owner, lease_s, limit))
        due = list(self.claimable)[:limit]
        return [self.claimable.pop(i) for i in due]

    async def endpoints_for(self, ids: Sequence[str]) -> dict[str, list[NotificationEndpoint]]:
        self.reading_endpoints()
        return {i: list(self.endpoints.get(i, [])) for i in ids}

    async def record_outcomes(
        self, owner: str, deliveries: Sequence[DeliveryRow], finishes: Sequence[Finish]
    ) -> int:
        self.recorded.append(Recorded(owner, list(deliveries), list(finishes)))
        return sum(f.notification_id not in self.lost for f in finishes)

    @property
    def only(self) -> Recorded:
        [recorded] = self.recorded
        return recorded


HANG = object()  # an answer that never comes: the receiver holds the connection open


class ScriptedChannels:
    """A dispatcher answering by target value (SENT 200 unless scripted otherwise)."""

    def __init__(self, answers: dict[str, object] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[tuple[str, str]] = []  # (notification id, target value)
        self.cancelled: list[str] = []

    async def deliver(self, notification: OutgoingNotification, target: Target) -> Attempt:
        self.calls.append((notification.notification_id, target.value))
        answer = self.answers.get(target.value, Attempt.sent(200))
        if answer is HANG:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled.append(target.value)
                raise
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, Attempt)
        return answer

    def identity(self, endpoint_type: str, value: str) -> str:
        # Like the email channel's: addresses that differ only in case are one target.
        return value.lower() if endpoint_type == "email" else value


def claim(attempts: int = 1, taken_over: bool = False) -> Claim:
    n = OutgoingNotification(
        notification_id=str(uuid.uuid4()),
        client_id="acme",
        alert_id="a-1",
        severity="critical",
        source="db",
        name="disk full",
        event_ts=1_700_000_000,
        rule_ids=("r-1",),
        attempts=attempts,
    )
    return Claim(n, LEASE, taken_over)


def endpoint(
    endpoint_id: str, value: str, type: str = "webhook", prior: str | None = None
) -> NotificationEndpoint:
    error = "HTTP 404" if prior == "FAILED" else None
    return NotificationEndpoint(
        endpoint_id, type, value, None, prior_status=prior, prior_error=error
    )


def id_of(c: Claim) -> str:
    return c.notification.notification_id


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def make_worker(
    store: MemoryStore,
    channels: ScriptedChannels,
    clock: FakeClock | None = None,
    **settings: int,
) -> Worker:
    return Worker(
        store,
        channels,
        dataclasses.replace(SETTINGS, **settings),
        OWNER,
        clock=clock or FakeClock(),
    )


async def test_deliveries_in_flight_at_the_lease_budget_are_cancelled_and_retried() -> None:
    clock = FakeClock()
    c = claim()

    def slow_read() -> None:
        # the batch's own statements used up all but 50 ms of the budget
        clock.now += SETTINGS.lease_s * LEASE_BUDGET - 0.05

    endpoints = [endpoint("e-slow", "https://slow.example"), endpoint("e-fast", "https://fast")]
    store = MemoryStore(endpoints={id_of(c): endpoints}, reading_endpoints=slow_read)
    channels = ScriptedChannels({"https://slow.example": HANG})
    # Without the budget (or with one that ignores the time already spent) the hanging
    # delivery would hold the batch for seconds: well past this timeout.
    await asyncio.wait_for(make_worker(store, channels, clock).deliver([c], "poll"), 2)

    assert channels.cancelled == ["https://slow.example"]
    assert store.only.deliveries == [
        DeliveryRow(id_of(c), "e-slow", "webhook", "RETRY", NO_ANSWER, None),
        DeliveryRow(id_of(c), "e-fast", "webhook", "SENT", None, 200),
    ]
    [finish] = store.only.finishes
    assert (finish.status, finish.refund) == ("RETRY", False)
    assert finish.error == f"webhook e-slow: {NO_ANSWER}"


async def test_a_claim_beyond_max_attempts_fails_as_exhausted_without_delivering() -> None:
    worn, last = claim(attempts=4, taken_over=True), claim(attempts=3)
    store = MemoryStore(
        endpoints={
            id_of(worn): [endpoint("e-1", "https://worn.example")],
            id_of(last): [endpoint("e-2", "https://last.example")],
        }
    )
    channels = ScriptedChannels()
    await make_worker(store, channels, max_attempts=3).deliver([worn, last], "poll")

    # the claim at max_attempts is still delivered: only an expired one beyond it stops
    assert channels.calls == [(id_of(last), "https://last.example")]
    assert store.only.deliveries == [DeliveryRow(id_of(last), "e-2", "webhook", "SENT", None, 200)]
    assert store.only.finishes == [
        Finish(id_of(worn), LEASE, "FAILED", 0, EXHAUSTED.error, False),
        Finish(id_of(last), LEASE, "SENT", 0, None, False),
    ]


async def test_an_endpoint_without_a_token_in_time_is_deferred_and_refunded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With one token per second, the second notification's token is 1 s away: beyond
    # a half-second horizon it is deferred instead of waited for.
    monkeypatch.setattr(worker, "MAX_RATE_WAIT_S", 0.5)
    first, second = claim(), claim()
    hook = "https://limited.example"
    store = MemoryStore(
        endpoints={id_of(first): [endpoint("e-1", hook)], id_of(second): [endpoint("e-1", hook)]}
    )
    channels = ScriptedChannels()
    deferred = metric("alerting_sender_rate_limited_total", channel="webhook")
    busy = make_worker(store, channels, rate_per_s=1, rate_burst=1)
    await asyncio.wait_for(busy.deliver([first, second], "ready"), 2)

    assert channels.calls == [(id_of(first), hook)]
    assert store.only.deliveries == [DeliveryRow(id_of(first), "e-1", "webhook", "SENT", None, 200)]
    assert store.only.finishes == [
        Finish(id_of(first), LEASE, "SENT", 0, None, False),
        # due again when the bucket has refilled; the receiver was never called
        Finish(id_of(second), LEASE, "RETRY", 1000, None, True),
    ]
    assert metric("alerting_sender_rate_limited_total", channel="webhook") == deferred + 1


async def test_each_endpoint_of_a_target_gets_a_delivery_row_and_each_claim_a_finish() -> None:
    mail, hook = claim(), claim()
    store = MemoryStore(
        endpoints={
            # one address listed by two rules: one message, recorded for both endpoints
            id_of(mail): [
                endpoint("e-1", "ops@acme.example", "email"),
                endpoint("e-2", " OPS@acme.example", "email"),
            ],
            id_of(hook): [endpoint("e-3", "https://gone.example")],
        }
    )
    channels = ScriptedChannels({"https://gone.example": Attempt.permanent("HTTP 404", 404)})
    await make_worker(store, channels).deliver([mail, hook], "ready")

    assert channels.calls == [
        (id_of(mail), "ops@acme.example"),
        (id_of(hook), "https://gone.example"),
    ]
    assert store.only.owner == OWNER
    assert store.only.deliveries == [
        DeliveryRow(id_of(mail), "e-1", "email", "SENT", None, 200),
        DeliveryRow(id_of(mail), "e-2", "email", "SENT", None, 200),
        DeliveryRow(id_of(hook), "e-3", "webhook", "FAILED", "HTTP 404", 404),
    ]
    assert store.only.finishes == [
        Finish(id_of(mail), LEASE, "SENT", 0, None, False),
        Finish(id_of(hook), LEASE, "FAILED", 0, "webhook e-3: HTTP 404", False),
    ]


async def test_targets_settled_by_an_earlier_claim_are_not_called_again() -> None:
    c = claim(attempts=2)
    store = MemoryStore(
        endpoints={
            id_of(c): [
                endpoint("e-sent", "https://sent.example", prior="SENT"),
                endpoint("e-failed", "https://failed.example", prior="FAILED"),
                endpoint("e-retry", "https://retry.example", prior="RETRY"),
            ]
        }
    )
    channels = ScriptedChannels()
    await make_worker(store, channels).deliver([c], "poll")

    # only the transient one is tried again; the settled ones still count in the outcome
    assert channels.calls == [(id_of(c), "https://retry.example")]
    assert store.only.deliveries == [DeliveryRow(id_of(c), "e-retry", "webhook", "SENT", None, 200)]
    assert store.only.finishes == [
        Finish(id_of(c), LEASE, "FAILED", 0, "webhook e-failed: HTTP 404", False)
    ]


async def test_a_delivery_that_raises_is_recorded_as_transient() -> None:
    c = claim()
    store = MemoryStore(endpoints={id_of(c): [endpoint("e-1", "https://buggy.example")]})
    channels = ScriptedChannels({"https://buggy.example": KeyError("bug")})
    await make_worker(store, channels).deliver([c], "poll")

    assert store.only.deliveries == [
        DeliveryRow(id_of(c), "e-1", "webhook", "RETRY", "internal error: KeyError", None)
    ]
    assert store.only.finishes[0].status == "RETRY"


async def test_outcomes_of_claims_taken_over_meanwhile_are_counted_as_lost() -> None:
    kept, lost = claim(), claim()
    store = MemoryStore(
        endpoints={id_of(kept): [endpoint("e-1", "https://a")], id_of(lost): []},
        lost=frozenset({id_of(lost)}),
    )
    before = metric("alerting_sender_lost_claims_total")
    await make_worker(store, ScriptedChannels()).deliver([kept, lost], "poll")

    assert [f.notification_id for f in store.only.finishes] == [id_of(kept), id_of(lost)]
    assert metric("alerting_sender_lost_claims_total") == before + 1


async def test_ready_records_are_claimed_through_the_store_and_delivered() -> None:
    first, second = claim(), claim()
    store = MemoryStore(
        claims=[first, second],
        endpoints={id_of(first): [endpoint("e-1", "https://a")], id_of(second): []},
    )
    channels = ScriptedChannels()
    busy = make_worker(store, channels)

    def ready(notification_id: str, offset: int) -> Record[NotificationReady]:
        return Record("nr", 0, offset, b"acme", NotificationReady(notification_id, "acme", "a"), 0)

    records = [ready(id_of(first), 0), ready("not-a-uuid", 1), ready(id_of(first), 2)]
    rejected = await busy.handle_ready(records)
    await busy.drain()

    assert [(r.record.offset, r.reason) for r in rejected] == [(1, "notification_id is not a UUID")]
    assert store.claim_calls == [("ready", [id_of(first)], OWNER, 30.0)]  # once, de-duplicated
    assert channels.calls == [(id_of(first), "https://a")]
    assert [f.notification_id for f in store.only.finishes] == [id_of(first)]

    assert await busy.poll_once(10) == 1
    assert store.claim_calls[-1] == ("due", OWNER, 30.0, 10)
    assert store.recorded[-1].finishes[0].notification_id == id_of(second)
