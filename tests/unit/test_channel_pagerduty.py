"""The PagerDuty channel: the Events API v2 events of an episode, the dedup key, the
routing key's validation, and how PagerDuty's answers are judged."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from alerting import config
from alerting.channels.base import InvalidValue
from alerting.channels.builtin.pagerduty import CHANNEL, ROUTING_KEY, body, dedup_key, judged
from alerting.domain.delivery import Attempt, Outcome, classify_http
from alerting.services.sender.channels import Channels
from tests.unit.channel_support import NOW_S, N, Recorded, target

KEY = "R0ut1ngKeyR0ut1ngKeyR0ut1ngKey32"
URL = "https://events.pagerduty.com/v2/enqueue"


def event(n: Any = N) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(body(n, KEY))
    return found


def test_a_firing_notification_triggers_with_the_documented_payload() -> None:
    assert event() == {
        "routing_key": KEY,
        "event_action": "trigger",
        "dedup_key": "acme/a-1/1",
        "payload": {
            "summary": "[FIRING] [HIGH] payments: checkout_errors",
            "source": "payments",
            "severity": "error",
            "timestamp": "2023-11-14T22:13:20Z",
            "component": "checkout_errors",
            "custom_details": {
                "client_id": "acme",
                "alert_id": "a-1",
                "episode": 1,
                "notification_id": N.notification_id,
                "rule_ids": ["r-1", "r-2"],
                "name": "checkout_errors",
                "severity": "HIGH",
                "context": {"region": "eu", "note": "<b>&"},
            },
        },
        "client": "alerting",
    }


def test_its_resolved_notification_resolves_the_same_dedup_key() -> None:
    resolved = event(dataclasses.replace(N, kind="resolved"))
    assert resolved == {"routing_key": KEY, "event_action": "resolve", "dedup_key": "acme/a-1/1"}
    assert event(dataclasses.replace(N, episode=2))["dedup_key"] == "acme/a-1/2"


@pytest.mark.parametrize(
    ("severity", "mapped"),
    [("CRITICAL", "critical"), ("HIGH", "error"), ("MEDIUM", "warning"), ("LOW", "info")],
)
def test_severities_map_to_pagerdutys(severity: str, mapped: str) -> None:
    assert event(dataclasses.replace(N, severity=severity))["payload"]["severity"] == mapped


def test_long_fields_keep_pagerdutys_limits() -> None:
    long = dataclasses.replace(N, alert_id="x" * 300, name="n" * 2000)
    key = dedup_key(long)
    assert len(key) <= 255 and key.startswith("sha256:")
    assert key == dedup_key(dataclasses.replace(long, kind="resolved"))  # one episode, one key
    assert key != dedup_key(dataclasses.replace(long, episode=2))
    summary = event(long)["payload"]["summary"]
    assert len(summary) == 1024 and summary.endswith("\u2026")


def test_a_test_send_says_so_in_the_summary() -> None:
    payload = event(dataclasses.replace(N, test=True))["payload"]
    assert payload["summary"] == "[TEST] [FIRING] [HIGH] payments: checkout_errors"
    assert payload["custom_details"]["test"] is True


def test_a_test_send_has_its_own_dedup_key_never_a_real_episodes() -> None:
    # Same client, alert id and episode as a real alert: a real incident would absorb it.
    test = dataclasses.replace(N, test=True)
    assert event(test)["dedup_key"] == f"test/{N.notification_id}"
    assert dedup_key(test) != dedup_key(N)
    resolved = dataclasses.replace(test, kind="resolved")
    assert event(resolved)["dedup_key"] == f"test/{N.notification_id}"


@pytest.mark.parametrize("key", [KEY, "a" * 32, "0" * 32])
def test_a_routing_key_is_32_letters_or_digits(key: str) -> None:
    assert ROUTING_KEY.validate(key) == key


@pytest.mark.parametrize("key", ["a" * 31, "a" * 33, "a" * 31 + "-", "a" * 31 + "\n", ""])
def test_anything_else_is_refused_without_quoting_it(key: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        ROUTING_KEY.validate(key)
    assert str(refused.value) == (
        "not a PagerDuty routing key: expected the 32 letters or digits of an Events API v2"
        " integration's key"
    )


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(202, Outcome.SENT), (400, Outcome.FAILED), (403, Outcome.FAILED), (404, Outcome.FAILED),
     (429, Outcome.RETRY), (500, Outcome.RETRY), (503, Outcome.RETRY)],
)  # fmt: skip
async def test_answers_are_judged_like_pagerduty_documents_them(
    status: int, outcome: Outcome
) -> None:
    via = Recorded(answer=classify_http(status, "7"))
    found = await CHANNEL.deliver(N, target("pagerduty", URL, KEY), via.outbound())
    assert found.outcome is outcome and found.response_code == status
    if status == 400:
        assert found.error is not None and found.error.startswith("HTTP 400: PagerDuty refused")
    if status in (429, 503):
        assert found.retry_after_s == 7.0


def test_only_a_400_gets_pagerdutys_explanation() -> None:
    assert judged(Attempt.permanent("HTTP 404", 404)) == Attempt.permanent("HTTP 404", 404)
    assert judged(Attempt.sent(202)) == Attempt.sent(202)


async def test_deliver_posts_the_event_with_the_targets_routing_key() -> None:
    via = Recorded()
    assert await CHANNEL.deliver(N, target("pagerduty", URL, KEY), via.outbound()) == via.answer
    expected = {"Content-Type": "application/json", "User-Agent": "alerting-sender/1"}
    assert via.posts == [(URL, body(N, KEY), expected, NOW_S)]
    assert CHANNEL.name == "pagerduty" and not CHANNEL.signed


async def test_a_refused_url_is_not_called() -> None:
    via = Recorded(refused={URL: "URL refused: private"})
    found = await CHANNEL.deliver(N, target("pagerduty", URL, KEY), via.outbound())
    assert found == Attempt.permanent("URL refused: private") and via.posts == []


async def test_the_sender_never_sends_an_event_without_its_routing_key() -> None:
    """A key that cannot be opened (ALERTING_SECRET_KEYS) waits for a retry."""
    via = Recorded()
    channels = Channels(config.load({}), via, via, via, wall_clock=lambda: NOW_S)
    found = await channels.deliver(N, target("pagerduty", URL, None))
    assert found.outcome is Outcome.RETRY and via.posts == []
    assert found.error is not None and "ALERTING_SECRET_KEYS" in found.error
