"""What the group flusher needs from its database, as a protocol and plain values.

The flusher (``flusher.py``) claims due groups, delivers each one's digest and writes
the outcome: two operations, each one transaction, so its lease budget, retry and
give-up logic is unit-tested against an in-memory store; the SQL lives in
``group_repo.PostgresGroupStore`` and is tested against Postgres (docs/grouping.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from alerting.domain.delivery import Target
from alerting.domain.delivery_messages import Digest
from alerting.domain.grouping import GroupingPolicy


@dataclass(frozen=True, slots=True)
class GroupClaim:
    """A claimed group and the digest fixed for it (committed before any call, so a
    takeover resends the same one). ``target`` is None when the group's endpoint is
    gone or disabled: nothing is called, the digest fails with ``unreachable``."""

    digest: Digest
    endpoint_id: str
    endpoint_type: str
    target: Target | None
    policy: GroupingPolicy  # the rule's current timers (or the group's, without one)
    lease: datetime  # the claim's expiry: with claimed_by, it identifies this claim
    taken_over: bool  # it was another flusher's expired claim
    unreachable: str | None = None  # "endpoint deleted" / "endpoint disabled"


@dataclass(frozen=True, slots=True)
class DigestOutcome:
    """What one digest's try came to, as the store writes it. ``status`` is the
    digest's: SENT, RETRY (again in ``delay_ms``) or FAILED; a non-repeat digest's
    members' deliveries follow it (RETRY keeps them GROUPED)."""

    claim: GroupClaim
    status: str
    delay_ms: int
    error: str | None
    response_code: int | None
    # The attempt log's row of the call; None when nothing was called (an unreachable
    # endpoint), and then no attempt is logged. Timing varies from run to run.
    started_at: float | None = field(default=None, compare=False)
    duration_ms: int | None = field(default=None, compare=False)
    excerpt: str | None = None
    outcome: str | None = None  # the call's own outcome (the attempt log's), if called
    # The receiver asked to be forgotten (410 Gone): the endpoint is disabled with this
    # reason in the outcome's transaction (``Attempt.disable_reason``).
    disable_reason: str | None = None


class GroupStore(Protocol):
    """Claims of due groups with a lease, and the outcome of each one's digest."""

    async def claim_groups(self, owner: str, lease_s: float, limit: int) -> list[GroupClaim]:
        """Claim at most ``limit`` due groups and fix each one's next digest; groups
        with nothing to send are rescheduled or closed in the same transaction and
        not returned."""
        ...

    async def settle_stranded(self, limit: int) -> int:
        """Settle (SENT or FAILED, as a digest's outcome would) at most ``limit``
        GROUPED notifications untouched for a minute with no GROUPED delivery left, which
        no digest will settle any more; return how many were found."""
        ...

    async def record_digests(self, owner: str, outcomes: Sequence[DigestOutcome]) -> set[str]:
        """Write each outcome whose claim still holds (one taken over meanwhile is its
        new owner's); return the group ids written."""
        ...
