"""The webhook channel: body and signature receivers verify, the URL policy, delivery."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json

import pytest

from alerting.channels.base import InvalidValue
from alerting.channels.builtin.webhook import CHANNEL, sign, verify
from alerting.channels.builtin.webhook import body as webhook_body
from alerting.channels.builtin.webhook import headers as webhook_headers
from alerting.domain.delivery import Attempt, Outcome
from tests.unit.channel_support import NOW_S, PUBLIC, N, Recorded, target


def test_webhook_body_has_exactly_the_contract_fields() -> None:
    assert json.loads(webhook_body(N)) == {
        "notification_id": N.notification_id,
        "status": "firing",
        "episode": 1,
        "client_id": "acme",
        "alert_id": "a-1",
        "severity": "HIGH",
        "source": "payments",
        "name": "checkout_errors",
        "context": {"region": "eu", "note": "<b>&"},
        "rule_ids": ["r-1", "r-2"],
        "event_ts": 1_700_000_000,
    }
    assert webhook_body(N) == webhook_body(N)  # deterministic bytes


def test_a_resolved_body_names_its_kind_and_episode_and_is_signed_like_any() -> None:
    resolved = dataclasses.replace(
        N, notification_id="0b7c4a52-1d2e-4f60-8a71-9c3e5d2f4b18", kind="resolved", episode=4
    )
    request = CHANNEL.render(resolved, target("webhook", "https://h.example/x", "s3cret"),
                             Recorded().outbound(), NOW_S)  # fmt: skip
    payload = json.loads(request.body)
    assert (payload["status"], payload["episode"]) == ("resolved", 4)
    assert request.headers["Idempotency-Key"] == resolved.notification_id
    assert verify("s3cret", request.headers["X-Alerting-Timestamp"], request.body,
                  request.headers["X-Alerting-Signature"])  # fmt: skip


def test_signature_matches_a_hand_computed_hmac() -> None:
    body = b'{"a":1}'
    expected = hmac.new(b"s3cret", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert sign("s3cret", 1_700_000_000, body) == f"v1={expected}"
    assert verify("s3cret", "1700000000", body, f"v1={expected}")
    assert not verify("other", "1700000000", body, f"v1={expected}")
    assert not verify("s3cret", "1700000001", body, f"v1={expected}")
    assert not verify("s3cret", "soon", body, f"v1={expected}")


def test_webhook_headers() -> None:
    body = webhook_body(N)
    headers = webhook_headers(N, "s3cret", 1_700_000_005, body, "alerting-sender/1")
    assert headers == {
        "Content-Type": "application/json",
        "User-Agent": "alerting-sender/1",
        "Idempotency-Key": N.notification_id,
        "X-Alerting-Timestamp": "1700000005",
        "X-Alerting-Signature": sign("s3cret", 1_700_000_005, body),
    }
    assert "X-Alerting-Signature" not in webhook_headers(N, None, 1, body, "ua")


def test_render_signs_with_the_targets_secret_at_the_injected_time() -> None:
    request = CHANNEL.render(N, target("webhook", "https://h.example/x", "s3cret"),
                             Recorded().outbound(), NOW_S)  # fmt: skip
    assert request.url == "https://h.example/x" and request.body == webhook_body(N)
    assert request.headers == webhook_headers(
        N, "s3cret", 1_700_000_005, request.body, "alerting-sender/1"
    )


async def test_deliver_posts_the_rendered_request_with_the_wall_clock() -> None:
    via = Recorded(answer=Attempt.transient("HTTP 503", 503))
    found = await CHANNEL.deliver(N, target("webhook", "https://h.example/x", "k"), via.outbound())
    assert found == via.answer
    [(url, sent_body, sent_headers, now_s)] = via.posts
    assert (url, sent_body, now_s) == ("https://h.example/x", webhook_body(N), NOW_S)
    assert verify("k", sent_headers["X-Alerting-Timestamp"], sent_body,
                  sent_headers["X-Alerting-Signature"])  # fmt: skip


async def test_deliver_to_a_refused_url_is_permanent_and_sends_nothing() -> None:
    via = Recorded(refused={"https://h.example/x": "URL refused: private"})
    found = await CHANNEL.deliver(N, target("webhook", "https://h.example/x"), via.outbound())
    assert found.outcome is Outcome.FAILED and found.error == "URL refused: private"
    assert via.posts == []


async def test_value_is_an_http_url_kept_as_is() -> None:
    value = "https://Hooks.Example/Path?Token=AbC"
    assert await CHANNEL.validate(value, PUBLIC) == value
    assert CHANNEL.identity(value) == value  # paths and tokens are case-sensitive
    assert CHANNEL.signed and CHANNEL.name == "webhook"


@pytest.mark.parametrize("value", ["ftp://example.com/x", "example.com/hook", "https://"])
async def test_a_value_that_is_no_http_url_is_refused_with_a_url_message(value: str) -> None:
    with pytest.raises(InvalidValue, match=r"^URL "):
        await CHANNEL.validate(value, PUBLIC)
