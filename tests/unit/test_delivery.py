"""Delivery policy: classification table, backoff, Retry-After, outcome decisions, targets."""

from __future__ import annotations

import dataclasses
import random

import pytest

from alerting.channels import registry
from alerting.domain.delivery import (
    Attempt,
    Decision,
    NotificationEndpoint,
    Outcome,
    backoff_s,
    classify_http,
    classify_smtp,
    decide,
    parse_retry_after,
    targets,
)

SENT, RETRY, FAILED = Outcome.SENT, Outcome.RETRY, Outcome.FAILED


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, SENT), (201, SENT), (204, SENT), (299, SENT),
        (408, RETRY), (429, RETRY), (500, RETRY), (502, RETRY), (503, RETRY), (599, RETRY),
        (301, FAILED), (302, FAILED), (400, FAILED), (401, FAILED), (403, FAILED),
        (404, FAILED), (410, FAILED), (413, FAILED), (422, FAILED),
    ],
)  # fmt: skip
def test_http_classification(status: int, outcome: Outcome) -> None:
    attempt = classify_http(status)
    assert attempt.outcome is outcome
    assert attempt.response_code == status
    assert (attempt.error is None) == (outcome is SENT)


@pytest.mark.parametrize(
    ("code", "outcome"),
    [(421, RETRY), (450, RETRY), (451, RETRY), (452, RETRY), (550, FAILED), (553, FAILED),
     (554, FAILED)],
)  # fmt: skip
def test_smtp_classification(code: int, outcome: Outcome) -> None:
    attempt = classify_smtp(code, "mailbox\n  unavailable")
    assert attempt.outcome is outcome
    assert attempt.error == f"SMTP {code} mailbox unavailable"


def test_redirects_say_why_they_failed() -> None:
    assert "redirects are not followed" in (classify_http(302).error or "")


def test_retry_after_is_read_only_on_the_statuses_standard_webhooks_names() -> None:
    for status in (429, 502, 503, 504):
        assert classify_http(status, "7").retry_after_s == 7.0
    assert classify_http(500, "7").retry_after_s is None


def test_retry_after_forms() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:40 GMT", now) == pytest.approx(20.0)
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:00 GMT", now) == 0.0  # in the past
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("-5", now) is None


def test_backoff_grows_within_equal_jitter_bounds_and_is_capped() -> None:
    rng = random.Random(7)
    for attempt in range(1, 12):
        ceiling = min(60_000, 100 * 2 ** (attempt - 1)) / 1000
        delays = [backoff_s(attempt, 100, 60_000, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), attempt
        assert max(delays) - min(delays) > ceiling / 4  # jitter really spreads them
    assert backoff_s(10_000, 100, 60_000, rng) <= 60.0


def test_backoff_extremes_of_the_jitter() -> None:
    class Fixed(random.Random):
        def __init__(self, value: float) -> None:
            super().__init__()
            self.value = value

        def uniform(self, a: float, b: float) -> float:
            return a + (b - a) * self.value

    assert backoff_s(1, 2000, 300_000, Fixed(0.0)) == 1.0
    assert backoff_s(1, 2000, 300_000, Fixed(1.0)) == 2.0
    assert backoff_s(3, 2000, 300_000, Fixed(1.0)) == 8.0


def _decide(
    results: dict[str, Attempt],
    attempt: int = 1,
    deferred: tuple[float, ...] = (),
    resolved: bool = False,
) -> Decision:
    return decide(
        attempt=attempt,
        max_attempts=3,
        results=results,
        deferred_s=deferred,
        rule_ids=("r1", "r2"),
        base_ms=1000,
        max_ms=10_000,
        rng=random.Random(1),
        resolved=resolved,
    )


def test_decide_all_sent() -> None:
    decision = _decide({"a": Attempt.sent(200), "b": Attempt.sent()})
    assert decision.status is SENT and decision.error is None


def test_decide_transient_retries_until_the_budget_is_spent() -> None:
    first = _decide({"a": Attempt.sent(200), "b": classify_http(500)}, attempt=1)
    assert first.status is RETRY and 0.5 <= first.delay_s <= 1.0
    assert first.error == "b: HTTP 500" and not first.refund_attempt
    last = _decide({"a": Attempt.sent(200), "b": classify_http(500)}, attempt=3)
    assert last.status is FAILED and last.error == "gave up after 3 attempts: b: HTTP 500"


def test_decide_retry_after_stretches_the_delay_up_to_the_cap() -> None:
    assert _decide({"a": classify_http(429, "5")}).delay_s == 5.0
    assert _decide({"a": classify_http(429, "3600")}).delay_s == 10.0


def test_decide_permanent_failure_fails_even_with_budget_left() -> None:
    decision = _decide({"a": Attempt.sent(), "b": classify_http(400)})
    assert decision.status is FAILED and decision.error == "b: HTTP 400"


def test_decide_transient_wins_over_permanent_while_budget_remains() -> None:
    decision = _decide({"a": classify_http(400), "b": classify_http(503)})
    assert decision.status is RETRY and decision.error == "a: HTTP 400; b: HTTP 503"


def test_decide_rate_limited_only_gives_the_attempt_back() -> None:
    decision = _decide({"a": Attempt.sent()}, attempt=3, deferred=(2.5, 4.0))
    assert decision.status is RETRY and decision.delay_s == 4.0 and decision.refund_attempt


def test_decide_transient_and_deferred_counts_the_attempt_and_waits_for_both() -> None:
    decision = _decide({"a": classify_http(500)}, deferred=(30.0,))
    assert decision.status is RETRY and decision.delay_s == 30.0 and not decision.refund_attempt


def test_decide_no_endpoint() -> None:
    decision = _decide({})
    assert decision.status is FAILED
    assert decision.error == "no enabled endpoint for rules r1, r2"


def test_a_resolved_notification_with_nobody_to_tell_is_done_not_failed() -> None:
    """Its targets are the endpoints its firing one reached that want resolved messages:
    none (the firing one failed everywhere, or send_resolved is off) is not a failure."""
    assert _decide({}, resolved=True) == Decision(SENT)
    failing = _decide({"a": classify_http(400)}, resolved=True)
    assert failing.status is FAILED and failing.error == "a: HTTP 400"
    waiting = _decide({}, deferred=(2.0,), resolved=True)
    assert waiting.status is RETRY and waiting.refund_attempt


def test_targets_collapse_duplicates_and_keep_prior_outcomes() -> None:
    found = targets(
        [
            NotificationEndpoint("e1", "email", "Ops@Example.com"),
            NotificationEndpoint("e2", "email", "ops@example.com "),  # same mailbox, another rule
            NotificationEndpoint("e1", "email", "Ops@Example.com"),  # same endpoint via two rules
            NotificationEndpoint("e3", "webhook", "https://h.example/x", "s3", prior_status="SENT"),
            NotificationEndpoint(
                "e4", "webhook", "https://h.example/y", "s4", "FAILED", "HTTP 400"
            ),
            NotificationEndpoint("e5", "slack", "https://h.example/x", prior_status="RETRY"),
            # e3's URL already SENT:
            NotificationEndpoint("e6", "webhook", "https://h.example/x", "s6"),
        ],
        registry.identity,
    )
    assert [(t.type, t.endpoint_ids) for t in found] == [
        ("email", ("e1", "e2")),
        ("webhook", ("e3", "e6")),
        ("webhook", ("e4",)),
        ("slack", ("e5",)),
    ]
    email, sent, failed, slack = found
    assert email.prior is None and email.label == "email e1"
    assert sent.prior == Attempt.sent()
    assert failed.prior is not None and failed.prior.outcome is FAILED
    assert failed.prior.error == "HTTP 400" and failed.signing_secret == "s4"
    assert slack.prior is None  # a RETRY delivery is tried again


def test_pagerduty_endpoints_of_one_url_are_one_target_per_routing_key() -> None:
    url = "https://events.pagerduty.com/v2/enqueue"
    one, other = "A" * 32, "B" * 32
    found = targets(
        [
            NotificationEndpoint("p1", "pagerduty", url, one),
            NotificationEndpoint("p2", "pagerduty", url, other),  # another service
            NotificationEndpoint("p3", "pagerduty", url, one),  # the first one's, another rule
            NotificationEndpoint("w1", "webhook", "https://h.example/x", "s1"),
            NotificationEndpoint("w2", "webhook", "https://h.example/x", "s2"),
        ],
        registry.identity,
    )
    assert [(t.type, t.endpoint_ids, t.signing_secret) for t in found] == [
        ("pagerduty", ("p1", "p3"), one),
        ("pagerduty", ("p2",), other),
        ("webhook", ("w1", "w2"), "s1"),  # generated secrets: still one message
    ]
    # Rate limited per destination: per routing key, not one bucket for the shared URL.
    assert len({t.key for t in found}) == 3 and found[0].key[1].startswith(url + "\n")


def test_a_grouped_target_takes_secrets_and_templates_from_one_endpoint() -> None:
    url = "https://h.example/x"
    body_a, body_b = '{"from": "a"}', '{"from": "b"}'
    found = targets(
        [
            # The first member has templates but no secret (a key that did not open).
            NotificationEndpoint("w1", "webhook", url, templates={"body": body_a}),
            NotificationEndpoint(
                "w2", "webhook", url, "s2", previous_secret="p2", templates={"body": body_b}
            ),
            NotificationEndpoint("w3", "webhook", url, "s3", templates=None),
        ],
        registry.identity,
    )
    [grouped] = found
    assert grouped.endpoint_ids == ("w1", "w2", "w3")
    assert (grouped.signing_secret, grouped.previous_secret, grouped.templates) == (
        "s2",
        "p2",
        {"body": body_b},
    )
    # Without any secret in the group: the first member's templates.
    [plain] = targets(
        [NotificationEndpoint("s1", "slack", url, templates={"text": "a"}),
         NotificationEndpoint("s2", "slack", url, templates={"text": "b"})],
        registry.identity,
    )  # fmt: skip
    assert plain.templates == {"text": "a"}


def test_errors_are_truncated() -> None:
    assert len(Attempt.transient("x" * 5000).error or "") == 300


def test_timed_keeps_every_field_but_the_timing() -> None:
    values = {f.name: f"v-{f.name}" for f in dataclasses.fields(Attempt)}
    attempt = Attempt(**values)  # type: ignore[arg-type]
    assert attempt.timed(12.5, 7) == dataclasses.replace(attempt, started_at=12.5, duration_ms=7)


def test_excerpted_keeps_every_field_but_the_excerpt() -> None:
    values = {f.name: f"v-{f.name}" for f in dataclasses.fields(Attempt)}
    attempt = Attempt(**values)  # type: ignore[arg-type]
    assert attempt.excerpted("ok") == dataclasses.replace(attempt, excerpt="ok")
