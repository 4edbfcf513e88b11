"""The sender's Prometheus metrics (the ConsumeLoop counts messages and batches itself)."""

from __future__ import annotations

from typing import Generic, TypeVar

from prometheus_client import Counter, Histogram

M = TypeVar("M", Counter, Histogram)


class Children(Generic[M]):
    """A labelled metric's children by their label values, each looked up once:
    ``labels()`` takes a lock and rebuilds the label tuple on every call, several times
    per delivery. The children are the metric's own (what /metrics shows); nothing in
    the sender removes one, which would orphan it here."""

    __slots__ = ("_bound", "_metric")

    def __init__(self, metric: M) -> None:
        self._metric: M = metric
        self._bound: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        child = self._bound.get(values)
        if child is None:
            child = self._bound[values] = self._metric.labels(*values)
        return child


DELIVERIES = Counter(
    "alerting_sender_deliveries_total",
    "Delivery attempts to endpoints, by channel and outcome",
    ["channel", "outcome"],
)
DELIVERIES_OF = Children(DELIVERIES)
DELIVERY_SECONDS = Histogram(
    "alerting_sender_delivery_duration_seconds",
    "Time of one delivery attempt (URL check, request or SMTP send)",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DELIVERY_SECONDS_OF = Children(DELIVERY_SECONDS)
DEFERRED = Counter(
    "alerting_sender_rate_limited_total",
    "Deliveries deferred because the endpoint's token bucket was empty",
    ["channel"],
)
GROUPED = Counter(
    "alerting_sender_grouped_total",
    "Deliveries that joined their endpoint's group instead of a call (a digest carries"
    " them), by channel",
    ["channel"],
)
CLAIMED = Counter(
    "alerting_sender_claimed_total",
    "Notifications claimed, by path (ready message or poller)",
    ["path"],
)
TAKEN_OVER = Counter(
    "alerting_sender_taken_over_total", "Expired claims of another (crashed) sender taken over"
)
LOST_CLAIMS = Counter(
    "alerting_sender_lost_claims_total",
    "Outcomes not written because the claim had expired and been taken over meanwhile",
)
OUTCOME_WRITE_FAILURES = Counter(
    "alerting_sender_outcome_write_failures_total",
    "Tries of a batch's outcome write that failed because Postgres was away (tried again"
    " while the claim holds)",
)
OUTCOMES_ABANDONED = Counter(
    "alerting_sender_outcomes_abandoned_total",
    "Notifications delivered whose outcome could not be written before their lease ended"
    " (they are taken over and delivered again)",
)
NOTIFICATIONS = Counter(
    "alerting_sender_notifications_total", "Notification outcomes written, by status", ["status"]
)
NOTIFICATIONS_OF = Children(NOTIFICATIONS)
# The group flusher's (docs/grouping.md): one digest carries many notifications.
DIGESTS = Counter(
    "alerting_sender_digests_total",
    "Digest outcomes written, by channel, kind (new members or a repeat) and status"
    " (SENT, RETRY, FAILED)",
    ["channel", "kind", "status"],
)
DIGEST_MEMBERS = Histogram(
    "alerting_sender_digest_members",
    "Notifications carried by one digest (counted once, when it is SENT or FAILED)",
    ["channel"],
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 1000, 2500, 10_000),
)
GROUPS_TAKEN_OVER = Counter(
    "alerting_sender_group_claims_taken_over_total",
    "Expired group claims of another (crashed) flusher taken over: their digest is resent",
)
STRANDED = Counter(
    "alerting_sender_stranded_grouped_total",
    "GROUPED notifications settled by the flusher's sweep: no digest was left to settle"
    " them (should stay 0; anything else is a bug to report)",
)
