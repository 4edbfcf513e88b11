"""What the sender's worker needs from its database, as a protocol and plain values.

The worker's lease budget, exhaustion, deferral and outcome logic depends on these four
operations only, so it is unit-tested against an in-memory store; the tuned SQL lives in
the Postgres implementation (``repo.PostgresSenderStore``) and is tested against Postgres.
Each operation is one statement (or one transaction) per batch, never one per notification.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from alerting.domain.delivery import NotificationEndpoint
from alerting.domain.delivery_messages import FIRING, OutgoingNotification


@dataclass(frozen=True, slots=True)
class Claim:
    notification: OutgoingNotification
    lease: datetime  # the claim's expiry: with claimed_by, it identifies this claim
    taken_over: bool  # it was another sender's expired claim


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    notification_id: str
    endpoint_id: str
    endpoint_type: str
    status: str
    error: str | None
    response_code: int | None
    # Set when the receiver asked to be forgotten (410 Gone): the endpoint is disabled
    # with this reason in the same transaction (``Attempt.disable_reason``).
    disable_reason: str | None = None
    # The attempt log's row of this call (delivery_attempts): its start (epoch seconds)
    # and duration, and the start of the answer. The worker always sets the timing (the
    # table requires it). They vary from run to run while the rest is what the call
    # decided, so rows compare by the rest.
    started_at: float | None = field(default=None, compare=False)
    duration_ms: int | None = field(default=None, compare=False)
    excerpt: str | None = None


@dataclass(frozen=True, slots=True)
class Join:
    """A grouped endpoint's delivery: instead of a call, the notification joins the
    endpoint's open group of its key (opening one if none is open) and its deliveries
    row becomes GROUPED, naming the group. The rule's policy rides along: a new group
    starts on its timers, an open one has them refreshed (docs/grouping.md)."""

    notification_id: str
    endpoint_id: str
    endpoint_type: str
    client_id: str
    rule_id: str
    kind: str  # firing or resolved: never one group
    labels: Mapping[str, str]  # GroupingPolicy.labels
    group_key: str  # domain.grouping.group_key of the labels
    group_wait_s: int
    group_interval_s: int
    repeat_interval_s: int


@dataclass(frozen=True, slots=True)
class Finish:
    notification_id: str
    lease: datetime
    status: str
    delay_ms: int
    error: str | None
    refund: bool
    kind: str = FIRING  # a firing row that becomes final wakes its resolved row


class StoreUnavailable(Exception):
    """The database could not be reached (a connection refused, lost or timed out, or
    none to be had), or it rolled the transaction back over a conflict with another
    (a deadlock, a serialization failure). The same operation may succeed when tried
    again; any other error (a bug, a broken constraint) is raised as itself, because
    trying again cannot help."""


class SenderStore(Protocol):
    """Claims with a lease, the endpoints to deliver to, and the outcomes of a batch."""

    async def claim_ready(self, ids: Sequence[str], owner: str, lease_s: float) -> list[Claim]:
        """Claim those of ``ids`` that are claimable now; the rest are skipped."""
        ...

    async def claim_due(self, owner: str, lease_s: float, limit: int) -> list[Claim]:
        """Claim due retries, overdue PENDING rows and expired claims, at most ``limit``."""
        ...

    async def endpoints_for(self, ids: Sequence[str]) -> dict[str, list[NotificationEndpoint]]:
        """Each notification's enabled endpoints (every id is a key), with the delivery
        each already had from earlier claims."""
        ...

    async def record_outcomes(
        self,
        owner: str,
        deliveries: Sequence[DeliveryRow],
        finishes: Sequence[Finish],
        joins: Sequence[Join] = (),
    ) -> set[str]:
        """Write the batch's delivery rows, group joins and notification outcomes at
        once. Only a
        claim that still holds its row writes an outcome (one taken over meanwhile is its
        new owner's); return the ids of the finishes that did, counting as done a claim
        whose notification no longer exists (its client was deleted: nothing to write,
        nobody to hand it to, so it is not a lost claim). ``StoreUnavailable`` when the database is
        away: the worker tries again while the claims hold, so a repeat must be safe
        (it is: a repeat finds no claim left to finish, and SENT deliveries stay)."""
        ...
