"""The sender's Worker over an in-memory store, a scripted dispatcher and a fake clock:
the lease budget, exhaustion, rate-limit deferral, what a batch records, and an outcome
write retried while the claim holds. (The SQL behind the real store is tested against
Postgres in tests/integration/test_sender_repo.py.)"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from alerting.adapters.kafka import Record
from alerting.config import SenderSettings
from alerting.domain.delivery import Attempt, NotificationEndpoint, Outcome, Target
from alerting.domain.delivery_messages import OutgoingNotification
from alerting.domain.delivery_rate import Rate
from alerting.domain.model import NotificationReady
from alerting.services.sender import worker
from alerting.services.sender.outcome_write import WRITE_DEADLINE
from alerting.services.sender.store import Claim, DeliveryRow, Finish, Join, StoreUnavailable
from alerting.services.sender.worker import EXHAUSTED, LEASE_BUDGET, Worker
from components.alarms import SENDER_LOGGER
from tests.unit.channel_support import N
from tests.unit.sender_support import MemoryStore

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
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        """The worker's backoff sleep: time passes at once (the loop still turns)."""
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class FlakyStore(MemoryStore):
    """A store whose outcome writes fail ``failures`` times with ``error`` (by default a
    lost connection), each failed try costing ``try_s`` of the clock (as a connect
    timeout would), before they land. ``tries`` holds the clock at each try."""

    def __init__(
        self,
        clock: FakeClock,
        failures: float,
        try_s: float = 0.0,
        error: Exception | None = None,
        claims: Sequence[Claim] = (),
        endpoints: dict[str, list[NotificationEndpoint]] | None = None,
    ) -> None:
        super().__init__(claims, endpoints)
        self.clock = clock
        self.failures = failures
        self.try_s = try_s
        self.error = error or StoreUnavailable("ConnectionRefusedError: connection refused")
        self.tries: list[float] = []

    async def record_outcomes(
        self,
        owner: str,
        deliveries: Sequence[DeliveryRow],
        finishes: Sequence[Finish],
        joins: Sequence[Join] = (),
    ) -> set[str]:
        self.tries.append(self.clock.now)
        if self.failures > 0:
            self.failures -= 1
            self.clock.now += self.try_s
            await asyncio.sleep(0)
            raise self.error
        return await super().record_outcomes(owner, deliveries, finishes, joins)


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

    def identity(self, endpoint_type: str, value: str, secret: str | None = None) -> str:
        # Like the email channel's: addresses that differ only in case are one target.
        return value.lower() if endpoint_type == "email" else value

    def default_rate(self, endpoint_type: str) -> Rate | None:
        return None  # every channel on the settings' rate (test_channel_rates: the real ones)


def claim(attempts: int = 1, taken_over: bool = False) -> Claim:
    n = dataclasses.replace(N, notification_id=str(uuid.uuid4()), attempts=attempts)
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
    clock = clock or FakeClock()
    return Worker(
        store,
        channels,
        dataclasses.replace(SETTINGS, **settings),
        OWNER,
        clock=clock,
        sleep=clock.sleep,
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


async def test_notifications_to_one_url_with_different_overrides_each_pace_at_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two rules (of two tenants, say) post to one URL, one overriding the rate down to
    1/s, burst 1, the other on the default (100/s): each notification is paced by its
    own endpoint's rate, not by whichever notification retuned a shared bucket last."""
    monkeypatch.setattr(worker, "MAX_RATE_WAIT_S", 0.005)
    hook = "https://shared.example"
    slow_1, fast, slow_2 = claim(), claim(), claim()
    slow = dataclasses.replace(endpoint("e-slow", hook), rate_per_s=1.0, rate_burst=1)
    store = MemoryStore(
        endpoints={
            id_of(slow_1): [slow],
            id_of(fast): [endpoint("e-fast", hook)],
            id_of(slow_2): [slow],
        }
    )
    channels = ScriptedChannels()
    await asyncio.wait_for(make_worker(store, channels).deliver([slow_1, fast, slow_2], "poll"), 2)

    # The default's bucket is full: the fast one is not held back by the 1/s one's empty
    # bucket, and the second slow one still waits a full second for its own token.
    assert channels.calls == [(id_of(slow_1), hook), (id_of(fast), hook)]
    assert store.only.finishes == [
        Finish(id_of(slow_1), LEASE, "SENT", 0, None, False),
        Finish(id_of(fast), LEASE, "SENT", 0, None, False),
        Finish(id_of(slow_2), LEASE, "RETRY", 1000, None, True),
    ]


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


async def test_a_batch_with_failed_notifications_logs_their_number_as_a_field(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The CloudWatch alarm on FAILED notifications sums this field of the JSON line
    (components/alarms.py, SENDER_FAILED_PATTERN)."""
    ok, gone, lost = claim(), claim(), claim()
    store = MemoryStore(
        endpoints={
            id_of(ok): [endpoint("e-1", "https://ok.example")],
            id_of(gone): [endpoint("e-2", "https://gone.example")],
            id_of(lost): [endpoint("e-3", "https://lost.example")],
        }
    )
    channels = ScriptedChannels(
        {
            "https://gone.example": Attempt.permanent("HTTP 404", 404),
            "https://lost.example": Attempt.permanent("HTTP 400", 400),
        }
    )
    with caplog.at_level(logging.WARNING, logger=worker.__name__):
        await make_worker(store, channels).deliver([ok, gone, lost], "ready")

    (line,) = [r for r in caplog.records if "FAILED in this batch" in r.getMessage()]
    assert (line.name, line.failed) == ("alerting.services.sender.worker", 2)
    assert line.name == SENDER_LOGGER


async def test_only_failed_outcomes_written_are_logged_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A FAILED finish whose claim was taken over meanwhile was not written: its new
    owner writes (and logs) that notification's outcome, so this batch must not count
    it too (the CloudWatch filter would sum it twice)."""
    mine, lost = claim(), claim()
    store = MemoryStore(
        endpoints={
            id_of(mine): [endpoint("e-1", "https://gone.example")],
            id_of(lost): [endpoint("e-2", "https://gone.example")],
        },
        lost=frozenset({id_of(lost)}),
    )
    channels = ScriptedChannels({"https://gone.example": Attempt.permanent("HTTP 404", 404)})
    failed_before = metric("alerting_sender_notifications_total", status="FAILED")
    with caplog.at_level(logging.WARNING, logger=worker.__name__):
        await make_worker(store, channels).deliver([mine, lost], "ready")

    assert [f.status for f in store.only.finishes] == ["FAILED", "FAILED"]
    (line,) = [r for r in caplog.records if "FAILED in this batch" in r.getMessage()]
    assert line.failed == 1
    assert metric("alerting_sender_notifications_total", status="FAILED") == failed_before + 1


async def test_a_receiver_gone_asks_every_endpoint_of_its_target_to_be_disabled() -> None:
    hook = claim()
    store = MemoryStore(
        endpoints={id_of(hook): [endpoint("e-1", "https://gone.example"),
                                 endpoint("e-2", "https://gone.example")]}
    )  # fmt: skip
    reason = "receiver answered 410 Gone at 2023-11-14T22:13:25Z"
    gone = Attempt(Outcome.FAILED, "HTTP 410", 410, disable_reason=reason)
    await make_worker(store, ScriptedChannels({"https://gone.example": gone})).deliver(
        [hook], "ready"
    )
    assert store.only.deliveries == [
        DeliveryRow(id_of(hook), "e-1", "webhook", "FAILED", "HTTP 410", 410, reason),
        DeliveryRow(id_of(hook), "e-2", "webhook", "FAILED", "HTTP 410", 410, reason),
    ]
    assert store.only.finishes == [
        Finish(id_of(hook), LEASE, "FAILED", 0, "webhook e-1: HTTP 410", False)
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


async def test_a_resolved_claim_with_nobody_to_tell_is_sent_and_a_firing_one_failed() -> None:
    """The store gives a resolved notification only the endpoints its firing one
    reached that want resolved messages; none is a complete delivery, not a failure."""
    firing = claim()
    resolved = Claim(dataclasses.replace(firing.notification, notification_id=str(uuid.uuid4()),
                                         kind="resolved"), LEASE, False)  # fmt: skip
    store = MemoryStore()
    await make_worker(store, ScriptedChannels()).deliver([firing, resolved], "poll")

    assert store.only.deliveries == []
    assert store.only.finishes == [
        Finish(id_of(firing), LEASE, "FAILED", 0, "no enabled endpoint for rules r-1, r-2",
               False),
        Finish(id_of(resolved), LEASE, "SENT", 0, None, False),
    ]  # fmt: skip


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


def outage_claims(n: int) -> tuple[list[Claim], dict[str, list[NotificationEndpoint]]]:
    claims = [claim() for _ in range(n)]
    return claims, {id_of(c): [endpoint(f"e-{i}", f"https://{i}.example")] for i, c in
                    enumerate(claims)}  # fmt: skip


async def test_an_outcome_write_failing_on_a_lost_connection_is_retried_while_the_claim_holds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The database went away after the receivers were called: the outcome is written
    when it answers again, within the lease, and nobody is called twice."""
    clock = FakeClock()
    claims, endpoints = outage_claims(2)
    store = FlakyStore(clock, failures=3, try_s=5.0, endpoints=endpoints)
    channels = ScriptedChannels()
    failed_tries = metric("alerting_sender_outcome_write_failures_total")
    abandoned = metric("alerting_sender_outcomes_abandoned_total")
    sent = metric("alerting_sender_notifications_total", status="SENT")
    with caplog.at_level(logging.INFO, logger=worker.__name__):
        await make_worker(store, channels, clock).deliver(claims, "ready")

    assert len(channels.calls) == 2  # each receiver once
    assert len(store.tries) == 4 and clock.slept  # three failures, backed off, then written
    assert [f.status for f in store.only.finishes] == ["SENT", "SENT"]
    assert [f.lease for f in store.only.finishes] == [LEASE, LEASE]  # the same claim
    assert metric("alerting_sender_outcome_write_failures_total") == failed_tries + 3
    assert metric("alerting_sender_outcomes_abandoned_total") == abandoned
    assert metric("alerting_sender_notifications_total", status="SENT") == sent + 2
    # one line when it starts failing and one when it lands, not one per try
    assert len(caplog.records) == 2, [r.getMessage() for r in caplog.records]
    assert "ConnectionRefusedError" in caplog.records[0].getMessage()


async def test_an_outcome_write_failing_until_the_lease_ends_is_given_up_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    started = clock.now
    claims, endpoints = outage_claims(2)
    store = FlakyStore(clock, failures=math.inf, try_s=1.0, endpoints=endpoints)
    abandoned = metric("alerting_sender_outcomes_abandoned_total")
    with caplog.at_level(logging.INFO, logger=worker.__name__):
        await make_worker(store, ScriptedChannels(), clock).deliver(claims, "poll")

    assert store.recorded == []
    # every try began before the lease's end, the last one close to the safety margin
    lease_end = started + SETTINGS.lease_s
    assert all(t <= started + SETTINGS.lease_s * WRITE_DEADLINE for t in store.tries)
    assert store.tries[-1] >= lease_end - 3.0 and clock.now < lease_end
    assert metric("alerting_sender_outcomes_abandoned_total") == abandoned + 2
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and "gave up" in messages[1], messages


async def test_an_outcome_write_error_other_than_a_lost_connection_is_not_retried() -> None:
    clock = FakeClock()
    claims, endpoints = outage_claims(1)
    store = FlakyStore(clock, failures=1, error=ValueError("a bug"), endpoints=endpoints)
    with pytest.raises(ValueError, match="a bug"):
        await make_worker(store, ScriptedChannels(), clock).deliver(claims, "poll")
    assert len(store.tries) == 1 and clock.slept == []


async def test_the_lease_is_counted_from_before_the_claim_statement() -> None:
    """The database set the expiry at its now() during the claim statement: a slow claim
    eats into the lease, so the retries' deadline is counted from before it was sent."""
    clock = FakeClock()
    claims, endpoints = outage_claims(1)

    class SlowClaim(FlakyStore):
        async def claim_due(self, owner: str, lease_s: float, limit: int) -> list[Claim]:
            self.clock.now += 10.0
            return await super().claim_due(owner, lease_s, limit)

    store = SlowClaim(clock, failures=math.inf, try_s=1.0, claims=claims, endpoints=endpoints)
    started = clock.now
    await make_worker(store, ScriptedChannels(), clock).poll_once(10)
    assert store.tries and store.tries[-1] <= started + SETTINGS.lease_s * WRITE_DEADLINE


async def test_ready_batches_retrying_their_write_keep_their_slots() -> None:
    """Back-pressure: while the database is away, a third ready batch is not claimed
    (so its Kafka offsets are not committed) until a retrying batch is written."""
    clock = FakeClock()
    claims, endpoints = outage_claims(3)
    store = FlakyStore(clock, failures=math.inf, claims=claims, endpoints=endpoints)
    channels = ScriptedChannels()
    busy = make_worker(store, channels, clock, lease_s=3600)

    def ready(c: Claim) -> list[Record[NotificationReady]]:
        value = NotificationReady(id_of(c), "acme", "a")
        return [Record("nr", 0, 0, b"acme", value, 0)]

    await busy.handle_ready(ready(claims[0]))
    await busy.handle_ready(ready(claims[1]))
    third = asyncio.create_task(busy.handle_ready(ready(claims[2])))
    for _ in range(50):
        await asyncio.sleep(0)
    assert len(store.tries) > 2 and not third.done()
    assert [call[1] for call in store.claim_calls] == [[id_of(claims[0])], [id_of(claims[1])]]

    store.failures = 0  # the database is back
    await asyncio.wait_for(third, 2)
    await busy.drain()
    assert len(channels.calls) == 3
    assert sorted(f.notification_id for r in store.recorded for f in r.finishes) == sorted(
        id_of(c) for c in claims
    )


async def test_drain_gives_up_a_write_stuck_beyond_the_lease() -> None:
    """A try that never answers (a dead connection) must not hold shutdown forever:
    draining waits one lease at most, then counts the stuck batch as abandoned."""
    clock = FakeClock()
    claims, endpoints = outage_claims(1)

    class Stuck(MemoryStore):
        async def record_outcomes(
            self,
            owner: str,
            deliveries: Sequence[DeliveryRow],
            finishes: Sequence[Finish],
            joins: Sequence[Join] = (),
        ) -> set[str]:
            await asyncio.Event().wait()
            return set()

    store = Stuck(claims=claims, endpoints=endpoints)
    busy = make_worker(store, ScriptedChannels(), clock, lease_s=1)
    abandoned = metric("alerting_sender_outcomes_abandoned_total")
    value = NotificationReady(id_of(claims[0]), "acme", "a")
    await busy.handle_ready([Record("nr", 0, 0, b"acme", value, 0)])
    await asyncio.wait_for(busy.drain(), 3)
    assert metric("alerting_sender_outcomes_abandoned_total") == abandoned + 1


@pytest.mark.parametrize(
    "text",
    [
        "6f1c0d1e-8a8e-4a43-9d5c-2b1d4c9e0a11",
        "6F1C0D1E-8A8E-4A43-9D5C-2B1D4C9E0A11",
        "6f1c0d1e8a8e4a439d5c2b1d4c9e0a11",
        "{6f1c0d1e-8a8e-4a43-9d5c-2b1d4c9e0a11}",
        "urn:uuid:6f1c0d1e-8a8e-4a43-9d5c-2b1d4c9e0a11",
    ],
)
def test_a_ready_id_is_claimed_in_the_uuid_canonical_form(text: str) -> None:
    assert worker.canonical_uuid(text) == str(uuid.UUID(text))


@pytest.mark.parametrize(
    "text",
    ["not-a-uuid", "6f1c0d1e-8a8e-4a43-9d5c-2b1d4c9e0a1", "6f1c0d1e-8a8e-4a43-9d5c-2b1d4c9e0a11\n"],
)
def test_a_ready_id_that_is_no_uuid_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        worker.canonical_uuid(text)
