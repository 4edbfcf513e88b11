"""One claimed notification's delivery plan, and what it came to as the rows the store
writes: a deliveries row (and attempt-log row) per endpoint called, a ``Join`` per
grouped endpoint, and the per-target results ``decide`` judges the notification by.
Kept out of ``worker.py``, which runs the batch; this only reads what the run left."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from alerting.domain.delivery import JOINED, Attempt, Target
from alerting.domain.delivery_messages import OutgoingNotification
from alerting.domain.grouping import group_key
from alerting.services.sender.call_timing import NOT_STARTED, Call, outcome, timed
from alerting.services.sender.store import Claim, DeliveryRow, Join


@dataclass
class Plan:
    claim: Claim
    targets: list[Target]
    tasks: dict[int, asyncio.Task[Attempt]] = field(default_factory=dict)  # by target index
    calls: dict[int, Call] = field(default_factory=dict)  # by target index, as tasks
    joins: dict[int, Join] = field(default_factory=dict)  # by target index: not called
    deferred_s: list[float] = field(default_factory=list)
    exhausted: bool = False


@dataclass
class Settled:
    """A plan's outcome: each target's standing by label, and the rows to write."""

    results: dict[str, Attempt] = field(default_factory=dict)
    deliveries: list[DeliveryRow] = field(default_factory=list)
    joins: list[Join] = field(default_factory=list)


def join_of(n: OutgoingNotification, target: Target) -> Join | None:
    """The join a grouped target (not yet joined) makes instead of a call; None for an
    ungrouped one. A grouped target has exactly one endpoint (``targets``)."""
    policy = target.grouping
    if policy is None or target.rule_id is None:
        return None
    labels = policy.labels(n)
    return Join(
        n.notification_id, target.endpoint_ids[0], target.type, n.client_id, target.rule_id,
        n.kind, labels, group_key(labels),
        policy.group_wait_s, policy.group_interval_s, policy.repeat_interval_s,
    )  # fmt: skip


def settle(plan: Plan, now: float) -> Settled:
    """What ``plan``'s run came to, once its tasks are done (or cancelled) at ``now``."""
    n = plan.claim.notification
    done = Settled()
    for i, target in enumerate(plan.targets):
        if target.prior is not None:
            done.results[target.label] = target.prior
        elif i in plan.joins:
            done.results[target.label] = JOINED
            done.joins.append(plan.joins[i])
        elif i not in plan.tasks:
            continue  # deferred: waits for its token, the attempt given back
        elif plan.tasks[i].cancelled() and not plan.calls[i].calling:
            done.results[target.label] = NOT_STARTED
        else:
            attempt = timed(outcome(plan.tasks[i]), plan.calls[i], now)
            done.results[target.label] = attempt
            done.deliveries += [
                DeliveryRow(n.notification_id, eid, target.type, attempt.outcome.value,
                            attempt.error, attempt.response_code, attempt.disable_reason,
                            attempt.started_at, attempt.duration_ms, attempt.excerpt)
                for eid in target.endpoint_ids
            ]  # fmt: skip
    return done
