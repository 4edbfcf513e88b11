"""The webhook channel: body and Standard Webhooks signatures (checked with the official
``standardwebhooks`` package), secrets old and new, 410 Gone, the URL policy, delivery."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from alerting.channels.base import InvalidValue
from alerting.channels.builtin.webhook import CHANNEL
from alerting.channels.builtin.webhook import body as webhook_body
from alerting.channels.builtin.webhook import headers as webhook_headers
from alerting.channels.standard_webhooks import new_secret, signature, signing_key
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


def standard(secret: str) -> Webhook:
    """The official Standard Webhooks verifier (PyPI ``standardwebhooks``), not ours."""
    return Webhook(secret)


def test_a_resolved_body_names_its_kind_and_episode_and_is_signed_like_any() -> None:
    resolved = dataclasses.replace(
        N, notification_id="0b7c4a52-1d2e-4f60-8a71-9c3e5d2f4b18", kind="resolved", episode=4
    )
    secret = new_secret()
    request = CHANNEL.render(resolved, target("webhook", "https://h.example/x", secret),
                             Recorded().outbound(), time.time())  # fmt: skip
    payload = json.loads(request.body)
    assert (payload["status"], payload["episode"]) == ("resolved", 4)
    assert request.headers["Idempotency-Key"] == resolved.notification_id
    assert request.headers["webhook-id"] == resolved.notification_id
    assert standard(secret).verify(request.body, request.headers) == payload


def test_new_secrets_are_whsec_and_32_random_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32
    assert signing_key(first) == base64.b64decode(first.removeprefix("whsec_"))


def test_a_legacy_secret_is_keyed_by_its_utf8_bytes() -> None:
    legacy = "tWk1-rZ_legacy-token_urlsafe-value-43chars"
    assert signing_key(legacy) == legacy.encode()
    as_standard = "whsec_" + base64.b64encode(legacy.encode()).decode()
    assert signing_key(as_standard) == legacy.encode()  # what a receiver configures
    with pytest.raises(ValueError, match="not valid base64"):
        signing_key("whsec_not base64!")


def test_signature_matches_a_hand_computed_hmac() -> None:
    key, body = b"k" * 32, b'{"a":1}'
    mac = hmac.new(key, b'msg_1.1700000000.{"a":1}', hashlib.sha256).digest()
    assert signature(key, "msg_1", 1_700_000_000, body) == f"v1,{base64.b64encode(mac).decode()}"
    wh = Webhook(key)
    assert signature(key, "msg_1", 1_700_000_000, body) == wh.sign(
        "msg_1", datetime.fromtimestamp(1_700_000_000, UTC), body
    )


def test_webhook_headers_are_exactly_the_standard_ones() -> None:
    body = webhook_body(N)
    secret = new_secret()
    found = webhook_headers(N, target("webhook", "u", secret), 1_700_000_005, body, "ua/1")
    assert found == {
        "Content-Type": "application/json",
        "User-Agent": "ua/1",
        "Idempotency-Key": N.notification_id,
        "webhook-id": N.notification_id,
        "webhook-timestamp": "1700000005",
        "webhook-signature": signature(signing_key(secret), N.notification_id, 1_700_000_005,
                                       body),
    }  # fmt: skip
    unsigned = webhook_headers(N, target("webhook", "u"), 1, body, "ua")
    assert "webhook-signature" not in unsigned and unsigned["webhook-id"] == N.notification_id


def test_a_rotation_signs_with_both_secrets_and_each_verifies() -> None:
    old, new = new_secret(), new_secret()
    rotating = dataclasses.replace(target("webhook", "https://h.example/x", new),
                                   previous_secret=old)  # fmt: skip
    request = CHANNEL.render(N, rotating, Recorded().outbound(), time.time())
    sent = request.headers["webhook-signature"].split(" ")
    ts = int(request.headers["webhook-timestamp"])
    assert sent == [signature(signing_key(s), N.notification_id, ts, request.body)
                    for s in (new, old)]  # fmt: skip
    for secret in (old, new):
        assert standard(secret).verify(request.body, request.headers)["alert_id"] == "a-1"
    with pytest.raises(WebhookVerificationError):
        standard(new_secret()).verify(request.body, request.headers)


def test_a_legacy_secret_verifies_for_a_receiver_given_its_bytes() -> None:
    legacy = "tWk1-rZ_legacy-token_urlsafe-value-43chars"
    request = CHANNEL.render(N, target("webhook", "https://h.example/x", legacy),
                             Recorded().outbound(), time.time())  # fmt: skip
    assert Webhook(legacy.encode()).verify(request.body, request.headers)
    whsec = "whsec_" + base64.b64encode(legacy.encode()).decode()
    assert Webhook(whsec).verify(request.body, request.headers)


def test_the_standard_verifier_rejects_a_tampered_body_and_a_stale_timestamp() -> None:
    secret = new_secret()
    hook = target("webhook", "https://h.example/x", secret)
    fresh = CHANNEL.render(N, hook, Recorded().outbound(), time.time())
    tampered = fresh.body.replace(b'"HIGH"', b'"LOW"')
    assert tampered != fresh.body
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        standard(secret).verify(tampered, fresh.headers)
    stale = CHANNEL.render(N, hook, Recorded().outbound(), time.time() - 600)
    with pytest.raises(WebhookVerificationError, match="too old"):
        standard(secret).verify(stale.body, stale.headers)
    # The signature covers the id too: the same body under another id does not verify.
    moved = {**fresh.headers, "webhook-id": "another-id"}
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        standard(secret).verify(fresh.body, moved)


def test_render_signs_with_the_targets_secret_at_the_injected_time() -> None:
    hook = target("webhook", "https://h.example/x", "s3cret")
    request = CHANNEL.render(N, hook, Recorded().outbound(), NOW_S)
    assert request.url == "https://h.example/x" and request.body == webhook_body(N)
    assert request.headers == webhook_headers(N, hook, 1_700_000_005, request.body,
                                              "alerting-sender/1")  # fmt: skip


async def test_deliver_posts_the_rendered_request_with_the_wall_clock() -> None:
    via = Recorded(answer=Attempt.transient("HTTP 503", 503))
    now = time.time()
    secret = new_secret()
    hook = target("webhook", "https://h.example/x", secret)
    found = await CHANNEL.deliver(N, hook, via.outbound(now))
    assert found == via.answer
    [(url, sent_body, sent_headers, now_s)] = via.posts
    assert (url, sent_body, now_s) == ("https://h.example/x", webhook_body(N), now)
    assert sent_headers["webhook-timestamp"] == str(int(now))
    assert standard(secret).verify(sent_body, sent_headers)


async def test_a_410_gone_fails_for_good_and_asks_to_disable_the_endpoint() -> None:
    via = Recorded(answer=Attempt.permanent("HTTP 410", 410))
    found = await CHANNEL.deliver(N, target("webhook", "https://h.example/x", "k"),
                                  via.outbound(1_700_000_005.75))  # fmt: skip
    assert found == Attempt(
        Outcome.FAILED, "HTTP 410", 410,
        disable_reason="receiver answered 410 Gone at 2023-11-14T22:13:25Z",
    )  # fmt: skip


@pytest.mark.parametrize("answer", [Attempt.permanent("HTTP 404", 404), Attempt.sent(200),
                                    Attempt.transient("HTTP 503", 503)])  # fmt: skip
async def test_other_answers_disable_nothing(answer: Attempt) -> None:
    via = Recorded(answer=answer)
    found = await CHANNEL.deliver(N, target("webhook", "https://h.example/x", "k"), via.outbound())
    assert found == answer and found.disable_reason is None


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
