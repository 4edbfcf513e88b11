"""The group flusher: claim due groups, deliver each one's digest, write the outcome.

Every sender process runs it beside the notification poller (``main.py``). A claim is
leased like a notification's (``ALERTING_SENDER_LEASE_S``): the digest and its members
are fixed and committed by the claim, before any call, so a flusher killed while
delivering leaves the claim, and once the lease runs out another one takes the group
over and sends the same digest again (same id: the receiver de-duplicates).
Calls must end within the lease budget (``worker.LEASE_BUDGET``); one still running is
cancelled and counts as a transient failure, so a takeover never overlaps a call. The
outcome write is tried again while Postgres is away and the claim holds, as the
worker's is (``outcome_write``): given up, the digest is resent after a takeover.

It reaches the database only through a ``GroupStore`` and the receivers only through a
``DigestDispatcher``, so this logic is unit-tested with fakes and a fake clock.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Protocol

from alerting.config import SenderSettings
from alerting.domain.delivery import (
    MAX_NOTIFICATION_ERROR,
    Attempt,
    Outcome,
    Target,
    retry_delay_s,
    truncate,
)
from alerting.domain.delivery_messages import Digest
from alerting.services.sender import metrics
from alerting.services.sender.call_timing import Call, ms, outcome, timed
from alerting.services.sender.group_store import DigestOutcome, GroupClaim, GroupStore
from alerting.services.sender.outcome_write import WRITE_DEADLINE, Retrying, write_while_held
from alerting.services.sender.worker import EXHAUSTED, LEASE_BUDGET

log = logging.getLogger(__name__)

# The safety net's period (``GroupStore.settle_stranded``), and how many GROUPED rows one
# sweep reads (the next sweep reads on from there): no GROUPED notification should ever
# need it, and every member waiting for its digest is GROUPED, so a sweep's work stays
# bounded however many wait.
STRANDED_EVERY_S = 60.0
STRANDED_SCAN = 5000


# How a digest's call is paced (``Worker.pace``): the seconds to wait before it, or None
# when no token comes within the given wait.
Pace = Callable[[Target, float], "float | None"]
# The share of the lease budget a digest may wait for its destination's token. Past it
# the call is made all the same: a digest is one message per group_interval_s, and a
# receiver that is really over its limit answers 429 with a Retry-After, which the
# digest's retry honours.
PACE_SHARE = 0.5


class DigestDispatcher(Protocol):
    """Delivers one digest to one target (``channels.dispatch.deliver_digest``); it does
    not retry (the flusher does, across claims) and should not raise."""

    async def deliver_digest(self, digest: Digest, target: Target) -> Attempt: ...


class Flusher:
    def __init__(
        self,
        store: GroupStore,
        channels: DigestDispatcher,
        settings: SenderSettings,
        owner: str,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        pace: Pace | None = None,
    ) -> None:
        self._store = store
        self._pace = pace  # None: calls are not paced (the unit tests of the logic)
        self._channels = channels
        self._settings = settings
        self.owner = owner
        self._rng = rng or random.Random()
        self._clock = clock
        self._wall_clock = wall_clock  # an attempt's start, as the attempt log shows it
        self._sleep = sleep
        self._retrying = Retrying(clock, sleep, self._rng, log)
        self._swept_at: float | None = None

    async def flush_once(self, limit: int) -> int:
        """Claim, deliver and record one batch of due groups; return how many were
        claimed (a full batch: the caller polls again at once). Every
        ``STRANDED_EVERY_S`` it first sweeps for stranded GROUPED notifications."""
        swept = self._clock()
        if self._swept_at is None or swept - self._swept_at >= STRANDED_EVERY_S:
            self._swept_at = swept
            stranded = await self._store.settle_stranded(STRANDED_SCAN)
            if stranded:
                metrics.STRANDED.inc(stranded)
                log.warning("settled %d GROUPED notification(s) no digest was left to", stranded)
        # After the sweep: its time is not the lease's, which starts with the claim.
        started = self._clock()
        lease_s = float(self._settings.lease_s)
        claims = await self._store.claim_groups(self.owner, lease_s, limit)
        if not claims:
            return 0
        taken_over = sum(c.taken_over for c in claims)
        if taken_over:
            metrics.GROUPS_TAKEN_OVER.inc(taken_over)
            log.warning("took over %d expired group claim(s)", taken_over)
        calls: dict[int, Call] = {}
        tasks: dict[int, asyncio.Task[Attempt]] = {}
        for i, claim in enumerate(claims):
            if claim.target is not None and claim.digest.attempts <= self._settings.max_attempts:
                calls[i] = Call(self._wall_clock(), self._clock())
                tasks[i] = asyncio.create_task(self._call(claim.digest, claim.target, calls[i]))
        if tasks:
            budget = lease_s * LEASE_BUDGET - (self._clock() - started)
            _, late = await asyncio.wait(tasks.values(), timeout=max(budget, 0.0))
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
                log.warning("%d digest(s) did not finish within the lease budget", len(late))
        outcomes = [
            self.decide(c, timed(outcome(tasks[i]), calls[i], self._clock()))
            if i in tasks
            else self.not_called(c)
            for i, c in enumerate(claims)
        ]
        written = await write_while_held(
            lambda: self._store.record_digests(self.owner, outcomes),
            f"the outcomes of {len(outcomes)} digest(s)",
            started + lease_s * WRITE_DEADLINE,
            self._retrying,
        )
        if written is None:
            metrics.OUTCOMES_ABANDONED.inc(sum(len(o.claim.digest.members) for o in outcomes))
            return len(claims)
        for o in outcomes:
            if o.claim.digest.group_id in written:
                self._count(o)
        lost = len(outcomes) - len(written)
        if lost:
            metrics.LOST_CLAIMS.inc(lost)
            log.warning("%d group claim(s) expired before their outcome was written", lost)
        return len(claims)

    async def _call(self, digest: Digest, target: Target, call: Call) -> Attempt:
        max_wait = float(self._settings.lease_s) * LEASE_BUDGET * PACE_SHARE
        wait = self._pace(target, max_wait) if self._pace is not None else None
        if wait:
            await self._sleep(wait)
        call.started_at, call.began = self._wall_clock(), self._clock()
        call.calling = True
        attempt = await self._channels.deliver_digest(digest, target)
        elapsed = self._clock() - call.began
        metrics.DELIVERY_SECONDS_OF(target.type).observe(elapsed)
        return replace(attempt, started_at=call.started_at, duration_ms=ms(elapsed))

    def decide(self, claim: GroupClaim, attempt: Attempt) -> DigestOutcome:
        """The digest's next state after this try: SENT, FAILED (permanent, or the
        last of ``ALERTING_SENDER_MAX_ATTEMPTS`` tries), else RETRY with the sender's
        backoff, stretched to a receiver's Retry-After."""
        s = self._settings
        tries = claim.digest.attempts
        status, delay_ms, error = attempt.outcome.value, 0, attempt.error
        if attempt.outcome is Outcome.RETRY:
            if tries < s.max_attempts:
                delay = retry_delay_s(
                    tries, [attempt], s.backoff_base_ms, s.backoff_max_ms, self._rng
                )
                delay_ms = round(delay * 1000)
            else:
                status = Outcome.FAILED.value
                error = truncate(f"gave up after {tries} attempts: {error}", MAX_NOTIFICATION_ERROR)
        return DigestOutcome(
            claim, status, delay_ms, error, attempt.response_code,
            attempt.started_at, attempt.duration_ms, attempt.excerpt, attempt.outcome.value,
            attempt.disable_reason,
        )  # fmt: skip

    @staticmethod
    def not_called(claim: GroupClaim) -> DigestOutcome:
        """A digest failed without a call: its endpoint is gone, or only expired claims
        of it ever got as far as a call (something about it kills or stalls senders)."""
        error = claim.unreachable if claim.unreachable is not None else EXHAUSTED.error
        return DigestOutcome(claim, Outcome.FAILED.value, 0, error, None)

    @staticmethod
    def _count(o: DigestOutcome) -> None:
        kind = "repeat" if o.claim.digest.repeat else "new"
        metrics.DIGESTS.labels(o.claim.endpoint_type, kind, o.status).inc()
        if o.status != Outcome.RETRY.value:
            metrics.DIGEST_MEMBERS.labels(o.claim.endpoint_type).observe(
                len(o.claim.digest.members)
            )
