"""Delivery policy for grouped endpoints (docs/grouping.md): they are targets of their
own, a GROUPED delivery waits for its digest, and ``decide`` hands a notification with a
joined endpoint over to its groups (GROUPED) unless something must be tried again."""

from __future__ import annotations

import random

import pytest

from alerting.channels import registry
from alerting.domain.delivery import (
    JOINED,
    Attempt,
    Decision,
    NotificationEndpoint,
    Outcome,
    classify_http,
    decide,
    targets,
)
from alerting.domain.grouping import GroupingPolicy

SENT, RETRY, FAILED, GROUPED = Outcome.SENT, Outcome.RETRY, Outcome.FAILED, Outcome.GROUPED
POLICY = GroupingPolicy(("source",))
URL = "https://h.example/x"


def _decide(
    results: dict[str, Attempt], attempt: int = 1, deferred: tuple[float, ...] = ()
) -> Decision:
    return decide(
        attempt=attempt,
        max_attempts=3,
        results=results,
        deferred_s=deferred,
        rule_ids=("r1",),
        base_ms=1000,
        max_ms=10_000,
        rng=random.Random(1),
    )


def test_grouped_endpoints_are_never_merged_with_others_of_the_same_address() -> None:
    found = targets(
        [
            NotificationEndpoint("w1", "webhook", URL, rule_id="r1", grouping=POLICY),
            NotificationEndpoint("w2", "webhook", URL, rule_id="r2", grouping=POLICY),
            NotificationEndpoint("w3", "webhook", URL, rule_id="r3"),
            NotificationEndpoint("w4", "webhook", URL, rule_id="r4"),
            NotificationEndpoint("w1", "webhook", URL, rule_id="r1", grouping=POLICY),  # twice
        ],
        registry.identity,
    )
    assert [t.endpoint_ids for t in found] == [("w1",), ("w2",), ("w3", "w4")]
    assert [(t.rule_id, t.grouping) for t in found] == [
        ("r1", POLICY), ("r2", POLICY), ("r3", None),
    ]  # fmt: skip
    assert all(t.prior is None for t in found)


def test_a_grouped_delivery_waits_for_its_digest_even_once_the_policy_is_gone() -> None:
    found = targets(
        [
            NotificationEndpoint("w1", "webhook", URL, prior_status="GROUPED", grouping=POLICY),
            # the rule's policy was removed after it joined: still its group's, alone
            NotificationEndpoint("w2", "webhook", URL, prior_status="GROUPED"),
            NotificationEndpoint("w3", "webhook", URL),
            NotificationEndpoint("w4", "webhook", URL, prior_status="SENT", grouping=POLICY),
            NotificationEndpoint("w5", "webhook", URL, prior_status="RETRY", grouping=POLICY),
        ],
        registry.identity,
    )
    assert [(t.endpoint_ids, t.prior) for t in found] == [
        (("w1",), JOINED),
        (("w2",), JOINED),
        (("w3",), None),
        (("w4",), Attempt.sent()),
        (("w5",), None),  # an earlier transient failure: it joins now
    ]


@pytest.mark.parametrize(
    ("results", "attempt", "deferred", "status", "error", "refund"),
    [
        # joined alone, or beside sent ones: handed over to the digest
        ({"a": JOINED}, 1, (), GROUPED, None, False),
        ({"a": JOINED, "b": Attempt.sent()}, 1, (), GROUPED, None, False),
        # a permanent failure still waits for the digest, its error kept for the summary
        ({"a": JOINED, "b": classify_http(400)}, 1, (), GROUPED, "b: HTTP 400", False),
        # a transient failure is tried again first (the joined one is a GROUPED prior then)
        ({"a": JOINED, "b": classify_http(500)}, 1, (), RETRY, "b: HTTP 500", False),
        # ... until the budget is spent: then the digest decides
        ({"a": JOINED, "b": classify_http(500)}, 3, (), GROUPED,
         "gave up after 3 attempts: b: HTTP 500", False),
        # a deferral gives the attempt back, as without groups
        ({"a": JOINED}, 2, (4.0,), RETRY, None, True),
        # without a join, nothing changes
        ({"a": Attempt.sent(), "b": classify_http(400)}, 1, (), FAILED, "b: HTTP 400", False),
    ],
)  # fmt: skip
def test_decide_with_joined_endpoints(
    results: dict[str, Attempt],
    attempt: int,
    deferred: tuple[float, ...],
    status: Outcome,
    error: str | None,
    refund: bool,
) -> None:
    decision = _decide(results, attempt, deferred)
    assert (decision.status, decision.error, decision.refund_attempt) == (status, error, refund)
    # only a RETRY waits; a deferral until its token, a transient failure its backoff
    assert (decision.delay_s > 0) == (status is RETRY)
