"""Deliver a batch of claimed notifications and write what happened, once per batch.

Both paths feed it: ready messages from Kafka (``handle_ready``) and the poller's due
work (``poll_once``). Deliveries of the whole batch run concurrently, bounded by one
process-wide semaphore, and must finish well inside the claim lease: whatever is still
in flight at the deadline is cancelled and counted as a transient failure, so another
sender never takes over a claim this one is still working on.

Once the receivers were called, the outcome must be written, or another sender calls
them again when the lease runs out: an outcome write that fails because the database
is away is tried again, with backoff, for as long as the claim holds (``outcome_write``).

The worker reaches the database only through a ``SenderStore`` and the receivers only
through a ``Dispatcher``, so this logic is unit-tested with fakes and a fake clock.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Protocol

from alerting.adapters.kafka import Record
from alerting.adapters.kafka.consumer import Rejected
from alerting.aio import wait_tasks
from alerting.config import SenderSettings
from alerting.dependency_log import DependencyLog
from alerting.domain.delivery import (
    JOINED,
    Attempt,
    Decision,
    Outcome,
    Target,
    decide,
    targets,
)
from alerting.domain.delivery_messages import OutgoingNotification
from alerting.domain.delivery_rate import Rate, effective
from alerting.domain.model import NotificationReady
from alerting.domain.token_bucket import RateLimiter, TokenBucket
from alerting.services.sender import metrics
from alerting.services.sender.call_timing import Call, ms
from alerting.services.sender.outcome_write import WRITE_DEADLINE, Retrying, write_while_held
from alerting.services.sender.records import Plan, join_of, settle
from alerting.services.sender.store import (
    Claim,
    DeliveryRow,
    Finish,
    Join,
    SenderStore,
)

log = logging.getLogger(__name__)

# A delivery whose endpoint has no token waits up to this long; beyond it, the
# notification is deferred (RETRY at the refill time, the attempt given back).
MAX_RATE_WAIT_S = 1.0
# Share of the lease the batch may spend delivering; the rest covers the final write.
LEASE_BUDGET = 0.8
# Ready batches delivering at once. A ready batch's offsets are committed once its rows
# are claimed: from then on the rows carry the work (a crash leaves them SENDING until
# the lease runs out and a poller takes them over, as for any claim). So the next batch
# is claimed while this one's requests are in flight, not after this one's statements
# and slowest request are done.
READY_BATCHES_IN_FLIGHT = 2
# A uuid as Postgres prints it (and the aggregator publishes it): already canonical.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
EXHAUSTED = Decision(
    Outcome.FAILED,
    error="gave up: every claim expired before an outcome was written"
    " (a sender crashed or stalled while delivering it)",
)


def canonical_uuid(text: str) -> str:
    """``text`` in the uuid's canonical form (lowercase, hyphenated); ValueError when it
    is not a uuid. The common case, already canonical, is taken as is: a regular
    expression costs a fraction of ``uuid.UUID`` and its ``str``."""
    if _CANONICAL_UUID.fullmatch(text) is not None:
        return text
    return str(uuid.UUID(text))


class Dispatcher(Protocol):
    """Delivers one notification to one target and reports how it went; it does not
    retry (the worker's ``decide`` does, across claims) and should not raise."""

    async def deliver(self, notification: OutgoingNotification, target: Target) -> Attempt: ...

    def identity(self, endpoint_type: str, value: str, secret: str | None = None) -> str:
        """What makes two endpoints one target (``domain.delivery.Identity``)."""
        ...

    def default_rate(self, endpoint_type: str) -> Rate | None:
        """The channel's delivery rate; None: the sender's setting."""
        ...


class Worker:
    def __init__(
        self,
        store: SenderStore,
        channels: Dispatcher,
        settings: SenderSettings,
        owner: str,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._channels = channels
        self._settings = settings
        self.owner = owner
        self._rng = rng or random.Random()
        self._clock = clock
        self._wall_clock = wall_clock  # an attempt's start, as the attempt log shows it
        # the write's backoff: a fake clock's in the unit tests
        self._retrying = Retrying(clock, sleep, self._rng, log)
        self._limiter = RateLimiter(settings.rate_per_s, settings.rate_burst, clock)
        # Channels that state no rate of their own (webhook, email) get the setting.
        self._fallback_rate = Rate(settings.rate_per_s, settings.rate_burst)
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._ready_batches = asyncio.Semaphore(READY_BATCHES_IN_FLIGHT)
        self._delivering: set[asyncio.Task[None]] = set()
        self._claimed_log = DependencyLog(log, "delivering claimed notifications", clock=clock)

    async def handle_ready(self, records: list[Record[NotificationReady]]) -> list[Rejected]:
        """ConsumeLoop handler: claim what is claimable and start delivering it; raise
        (before the claim) to get the batch redelivered. Returns once the rows are
        claimed, when at most one earlier batch is still delivering."""
        ids: dict[str, None] = {}
        rejected = []
        for r in records:
            try:
                ids[canonical_uuid(r.value.notification_id)] = None
            except ValueError:
                rejected.append(Rejected(r, "notification_id is not a UUID"))
        if ids:
            # A batch keeps its slot until its outcome is written or given up, retries
            # during an outage included: a third batch then waits here, unclaimed and
            # uncommitted, instead of piling up claims the database cannot finish.
            await self._ready_batches.acquire()
            try:
                claimed_at = self._clock()
                claims = await self._store.claim_ready(list(ids), self.owner, self._lease_s)
            except BaseException:
                self._ready_batches.release()
                raise
            task = asyncio.create_task(self._deliver_claimed(claims, claimed_at))
            self._delivering.add(task)
            task.add_done_callback(self._delivering.discard)
        return rejected

    async def _deliver_claimed(self, claims: Sequence[Claim], claimed_at: float) -> None:
        try:
            await self.deliver(claims, "ready", claimed_at)
        except asyncio.CancelledError:
            # only drain() cancels, when the batch outlived its lease (a try hanging)
            metrics.OUTCOMES_ABANDONED.inc(len(claims))
            raise
        except Exception as exc:  # their lease runs out, then a poll takes them over
            self._claimed_log.failed(exc)
        else:
            self._claimed_log.ok()
        finally:
            self._ready_batches.release()

    async def drain(self) -> None:
        """Wait for the ready batches still delivering: on shutdown, before the pool and
        the HTTP session close under them. At most one lease: a batch gives up its
        deliveries and its outcome write within its lease, so one still running then
        hangs on a connection that will not answer; it is cancelled (the claim is taken
        over, as after a crash). Real time, not the injected clock: this is a backstop."""
        deadline = asyncio.get_running_loop().time() + self._lease_s
        while self._delivering:
            left = deadline - asyncio.get_running_loop().time()
            _, stuck = await asyncio.wait(set(self._delivering), timeout=max(left, 0.0))
            if stuck and left <= 0:
                log.warning(
                    "%d batch(es) still running a lease after shutdown began: abandoned,"
                    " their claims are taken over when the lease runs out",
                    len(stuck),
                )
                for task in stuck:
                    task.cancel()
                await asyncio.wait(stuck)

    async def poll_once(self, limit: int) -> int:
        """Claim and deliver one batch of due work; return how many were claimed."""
        claimed_at = self._clock()
        claims = await self._store.claim_due(self.owner, self._lease_s, limit)
        await self.deliver(claims, "poll", claimed_at)
        return len(claims)

    @property
    def _lease_s(self) -> float:
        return float(self._settings.lease_s)

    async def deliver(
        self, claims: Sequence[Claim], path: str, claimed_at: float | None = None
    ) -> None:
        """Deliver ``claims`` (taken by one claim statement, so sharing one lease) and
        write what happened. ``claimed_at``: the clock just before that statement was
        sent, where the lease is counted from (now, when not given)."""
        if not claims:
            return
        started = self._clock() if claimed_at is None else claimed_at
        metrics.CLAIMED.labels(path).inc(len(claims))
        taken_over = sum(c.taken_over for c in claims)
        if taken_over:
            metrics.TAKEN_OVER.inc(taken_over)
            log.warning("took over %d expired claim(s)", taken_over)
        ids = [c.notification.notification_id for c in claims]
        endpoints = await self._store.endpoints_for(ids)
        identity = self._channels.identity
        # Once per batch, not per task (why: alerting.aio).
        loop = asyncio.get_running_loop()
        plans = [
            self._plan(c, targets(endpoints[c.notification.notification_id], identity), loop)
            for c in claims
        ]
        tasks = [t for p in plans for t in p.tasks.values()]
        if tasks:
            budget = self._lease_s * LEASE_BUDGET - (self._clock() - started)
            late = await wait_tasks(loop, tasks, max(budget, 0.0))
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
                log.warning("%d deliveries did not finish within the lease budget", len(late))
        await self._record(plans, started + self._lease_s * WRITE_DEADLINE)

    def _plan(self, claim: Claim, found: list[Target], loop: asyncio.AbstractEventLoop) -> Plan:
        plan = Plan(claim, found)
        if claim.notification.attempts > self._settings.max_attempts:
            # Only expired claims get here (an outcome ends at max_attempts): something
            # about this notification kills or stalls senders. Stop the crash loop.
            plan.exhausted = True
            return plan
        for i, target in enumerate(found):
            if target.prior is not None:
                continue
            join = join_of(claim.notification, target)
            if join is not None:
                # Its group's digest delivers it: no call, so no rate-limit token either.
                plan.joins[i] = join
                metrics.GROUPED.labels(target.type).inc()
                continue
            bucket = self._bucket(target)
            wait = bucket.reserve(MAX_RATE_WAIT_S)
            if wait is None:
                plan.deferred_s.append(bucket.wait_s())
                metrics.DEFERRED.labels(target.type).inc()
                continue
            call = plan.calls[i] = Call(self._wall_clock(), self._clock())
            plan.tasks[i] = loop.create_task(self._attempt(claim, target, wait, call))
        return plan

    def pace(self, target: Target, max_wait_s: float) -> float | None:
        """Reserve a call to ``target`` at its rate: the seconds to wait before making
        it, or None when that would be more than ``max_wait_s`` (nothing reserved). The
        flusher's digests pace through here too, so a destination's single messages and
        digests share one budget (a Slack webhook's one message a second)."""
        return self._bucket(target).reserve(max_wait_s)

    def _bucket(self, target: Target) -> TokenBucket:
        rate = self._rate(target)
        # Keyed by the rate too: notifications of other rules (or tenants) reaching
        # the same destination with other overrides each pace at their own rate,
        # instead of retuning one shared bucket back and forth between them.
        return self._limiter.bucket((target.key, rate.per_s, rate.burst), rate.per_s, rate.burst)

    def _rate(self, target: Target) -> Rate:
        default = self._channels.default_rate(target.type) or self._fallback_rate
        return effective(default, target.rate_per_s, target.rate_burst)

    async def _attempt(self, claim: Claim, target: Target, wait_s: float, call: Call) -> Attempt:
        if wait_s > 0:
            await asyncio.sleep(wait_s)
        async with self._slots:
            call.started_at, call.began = self._wall_clock(), self._clock()
            call.calling = True
            attempt = await self._channels.deliver(claim.notification, target)
            elapsed = self._clock() - call.began
            metrics.DELIVERY_SECONDS_OF(target.type).observe(elapsed)
        metrics.DELIVERIES_OF(target.type, attempt.outcome.value).inc()
        return attempt.timed(call.started_at, ms(elapsed))

    async def _record(self, plans: list[Plan], deadline: float) -> None:
        deliveries: list[DeliveryRow] = []
        joins: list[Join] = []
        finishes: list[Finish] = []
        for plan in plans:
            n = plan.claim.notification
            done = settle(plan, self._clock())
            deliveries += done.deliveries
            joins += done.joins
            decision = self._decision(plan, done.results)
            finishes.append(
                Finish(
                    n.notification_id,
                    plan.claim.lease,
                    decision.status.value,
                    round(decision.delay_s * 1000),
                    decision.error,
                    decision.refund_attempt,
                )
            )
        held = await self._write(deliveries, finishes, joins, deadline)
        if held is None:
            metrics.OUTCOMES_ABANDONED.inc(len(finishes))
            return
        # Only the outcomes written count: a claim taken over meanwhile is its new
        # owner's to count, and counted here too it would be counted twice (the
        # CloudWatch metric filter on the FAILED line below, AlertingNotificationsFailing).
        written = [f for f in finishes if f.notification_id in held]
        by_status = collections.Counter(f.status for f in written)
        for status, count in by_status.items():
            metrics.NOTIFICATIONS_OF(status).inc(count)
        if len(written) < len(finishes):
            metrics.LOST_CLAIMS.inc(len(finishes) - len(written))
            log.warning(
                "%d claim(s) expired before their outcome was written",
                len(finishes) - len(written),
            )
        failed = by_status[Outcome.FAILED.value]
        if failed:
            # `failed` as a field: the CloudWatch metric filter sums it (components/alarms.py).
            log.warning("%d notification(s) FAILED in this batch", failed, extra={"failed": failed})

    async def _write(
        self,
        deliveries: list[DeliveryRow],
        finishes: list[Finish],
        joins: list[Join],
        deadline: float,
    ) -> set[str] | None:
        """Record the batch (``outcome_write``: tried again while the database is away
        and the claims hold, until ``deadline``): the ids of the outcomes written; None
        when given up."""
        return await write_while_held(
            lambda: self._store.record_outcomes(self.owner, deliveries, finishes, joins),
            f"the outcomes of {len(finishes)} notification(s)",
            deadline,
            self._retrying,
        )

    def _decision(self, plan: Plan, results: dict[str, Attempt]) -> Decision:
        if plan.exhausted:
            if any(t.prior is JOINED for t in plan.targets):
                # Its digest still delivers it: FAILED now, the resolved row would be
                # woken and never reach that endpoint. The flusher settles it FAILED.
                return replace(EXHAUSTED, status=Outcome.GROUPED)
            return EXHAUSTED
        s = self._settings
        return decide(
            attempt=plan.claim.notification.attempts,
            max_attempts=s.max_attempts,
            results=results,
            deferred_s=plan.deferred_s,
            rule_ids=plan.claim.notification.rule_ids,
            base_ms=s.backoff_base_ms,
            max_ms=s.backoff_max_ms,
            rng=self._rng,
            resolved=plan.claim.notification.resolved,
        )
