"""Channels rendering with an endpoint's templates: what is sent, what is signed, and the
built-in rendering when a stored template fails on a notification."""

from __future__ import annotations

import dataclasses
import json
import logging
import time

import pytest
from standardwebhooks import Webhook

from alerting.channels.builtin.email import CHANNEL as EMAIL
from alerting.channels.builtin.email import text as email_text
from alerting.channels.builtin.slack import CHANNEL as SLACK
from alerting.channels.builtin.webhook import CHANNEL as WEBHOOK
from alerting.channels.builtin.webhook import body as webhook_body
from alerting.channels.standard_webhooks import new_secret
from alerting.channels.templated import FALLBACKS
from alerting.domain.delivery import Target
from tests.unit.channel_support import NOW_S, N, Recorded, target


def templated(type_: str, value: str, secret: str | None = None, **templates: str) -> Target:
    return dataclasses.replace(target(type_, value, secret), templates=templates)


def test_email_subject_and_body_come_from_the_templates() -> None:
    t = templated(
        "email", "oncall@acme.example", subject="{{ severity }}: {{ name }}",
        body="Alert {{ alert_id }} in {{ context.region }}\n",
    )  # fmt: skip
    msg = EMAIL.render(N, t, Recorded().outbound(), NOW_S)
    assert msg["Subject"] == "HIGH: checkout_errors"
    assert msg.get_content() == "Alert a-1 in eu\n"


def test_email_with_only_a_subject_template_keeps_the_built_in_body() -> None:
    t = templated("email", "oncall@acme.example", subject="{{ name }}")
    msg = EMAIL.render(N, t, Recorded().outbound(), NOW_S)
    assert msg["Subject"] == "checkout_errors"
    assert msg.get_content() == email_text(N)


def test_webhook_sends_and_signs_exactly_the_rendered_body() -> None:
    source = '{"text": {{ title }}, "labels": {{ context }}}'
    secret = new_secret()
    t = templated("webhook", "https://hooks.example/x", secret, body=source)
    # Rendered at the real time: the official verifier refuses stale timestamps.
    request = WEBHOOK.render(N, t, Recorded().outbound(), time.time())
    assert request.body == (
        b'{"text": "[FIRING] [HIGH] payments: checkout_errors",'
        b' "labels": {"region": "eu", "note": "<b>&"}}'
    )
    assert request.headers["Content-Type"] == "application/json"
    assert Webhook(secret).verify(request.body, request.headers) == json.loads(request.body)


def test_a_test_send_is_marked_in_the_built_in_renderings() -> None:
    test = dataclasses.replace(N, test=True)
    assert json.loads(webhook_body(test))["test"] is True
    assert "test" not in json.loads(webhook_body(N))
    msg = EMAIL.render(test, target("email", "oncall@acme.example"), Recorded().outbound(), NOW_S)
    assert msg["Subject"] == "[TEST] [FIRING] [HIGH] payments: checkout_errors"


def test_a_template_failing_at_send_time_falls_back_to_the_built_in_rendering(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Compiles, but this notification makes it render something that is not JSON.
    t = templated("webhook", "https://hooks.example/x", "s3cret", body="{{ name }}")
    before = FALLBACKS.labels("webhook", "body")._value.get()
    with caplog.at_level(logging.WARNING, logger="alerting.templates"):
        request = WEBHOOK.render(N, t, Recorded().outbound(), NOW_S)
    assert request.body == webhook_body(N)
    assert FALLBACKS.labels("webhook", "body")._value.get() == before + 1
    [record] = caplog.records
    assert record.getMessage() == (
        f"webhook e-1: template body failed for notification {N.notification_id},"
        " sent the built-in rendering: must render a JSON object"
    )


def test_slack_text_template_replaces_the_main_section_with_values_escaped() -> None:
    hostile = dataclasses.replace(N, name="<!channel> now")
    t = templated("slack", "https://hooks.slack.example/x", text="<!here> *{{ name }}*")
    payload = json.loads(SLACK.render(hostile, t, Recorded().outbound(), NOW_S).body)
    assert payload["blocks"][1] == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "<!here> *&lt;!channel&gt; now*", "verbatim": True},
    }
