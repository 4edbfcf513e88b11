"""What receivers get: webhook body and signature, Slack payload, email."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json

from alerting.domain.delivery_messages import (
    Notification,
    email_message,
    sign,
    slack_body,
    verify,
    webhook_body,
    webhook_headers,
)

N = Notification(
    notification_id="6f1c0d1e-8a8e-4a43-9d5c-2b1d4c9e0a11",
    client_id="acme",
    alert_id="a-1",
    severity="HIGH",
    source="payments",
    name="checkout_errors",
    event_ts=1_700_000_000,
    rule_ids=("r-1", "r-2"),
    attempts=1,
    context={"region": "eu", "note": "<b>&"},
)


def test_webhook_body_has_exactly_the_contract_fields() -> None:
    assert json.loads(webhook_body(N)) == {
        "notification_id": N.notification_id,
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


def test_slack_payload_escapes_mrkdwn() -> None:
    payload = json.loads(slack_body(N))
    assert payload["text"] == "[HIGH] payments: checkout_errors"
    section = payload["blocks"][1]["text"]["text"]
    assert "*note:* &lt;b&gt;&amp;" in section and "*region:* eu" in section


def test_email_subject_recipient_header_and_body() -> None:
    msg = email_message(N, "oncall@acme.example", "alerts@alerting.local")
    assert msg["Subject"] == "[HIGH] payments: checkout_errors"
    assert msg["To"] == "oncall@acme.example" and msg["From"] == "alerts@alerting.local"
    assert msg["X-Alerting-Notification-Id"] == N.notification_id
    assert msg["Message-ID"].endswith("@alerting.local>")
    named = email_message(N, "oncall@acme.example", "Alerts <alerts@acme.example>")
    assert named["Message-ID"].endswith("@acme.example>")
    text = msg.get_content()
    assert "alert_id:        a-1" in text and "  region: eu" in text
    assert "rules:           r-1, r-2" in text


def test_newlines_in_alert_fields_cannot_inject_headers() -> None:
    sneaky = dataclasses.replace(N, name="x\r\nBcc: evil@example.com")
    msg = email_message(sneaky, "oncall@acme.example", "alerts@alerting.local")
    assert msg["Subject"] == "[HIGH] payments: x Bcc: evil@example.com"
    assert msg["Bcc"] is None
