"""An in-memory ``SenderStore``, shared by the sender's unit tests and
tools/bench_sender_cpu.py (which must not import a test module, nor pytest with it).

Not a test module: ``test_sender_*.py`` import from here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from alerting.domain.delivery import NotificationEndpoint
from alerting.services.sender.store import Claim, DeliveryRow, Finish, Join


@dataclasses.dataclass
class Recorded:
    owner: str
    deliveries: list[DeliveryRow]
    finishes: list[Finish]
    joins: list[Join]


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
        self,
        owner: str,
        deliveries: Sequence[DeliveryRow],
        finishes: Sequence[Finish],
        joins: Sequence[Join] = (),
    ) -> set[str]:
        self.recorded.append(Recorded(owner, list(deliveries), list(finishes), list(joins)))
        return {f.notification_id for f in finishes if f.notification_id not in self.lost}

    @property
    def only(self) -> Recorded:
        [recorded] = self.recorded
        return recorded
