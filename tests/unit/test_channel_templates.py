"""Channels rendering with an endpoint's templates: what is sent, what is signed, and the
built-in rendering when a stored template fails on a notification."""

from __future__ import annotations

import dataclasses
import json
import logging
import time

import pytest
from standardwebhooks import Webhook

from alerting.channels import templated as hook
from alerting.channels.builtin.email import CHANNEL as EMAIL
from alerting.channels.builtin.email import text as email_text
from alerting.channels.builtin.slack import CHANNEL as SLACK
from alerting.channels.builtin.webhook import CHANNEL as WEBHOOK
from alerting.channels.builtin.webhook import body as webhook_body
from alerting.channels.standard_webhooks import new_secret
from alerting.channels.templated import FALLBACKS, SKIP_S, Skipped
from alerting.domain.delivery import Target
from alerting.domain.delivery_messages import OutgoingNotification
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
    # The error's type and line, never its message: that may quote the alert's values.
    assert record.getMessage() == (
        f"webhook e-1: template body failed for notification {N.notification_id}"
        " (OutputError, line None), sent the built-in rendering"
    )


def test_slack_text_template_replaces_the_main_section_with_values_escaped() -> None:
    hostile = dataclasses.replace(N, name="<!channel> now")
    t = templated("slack", "https://hooks.slack.example/x", text="<!here> *{{ name }}*")
    payload = json.loads(SLACK.render(hostile, t, Recorded().outbound(), NOW_S).body)
    assert payload["blocks"][1] == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "<!here> *&lt;!channel&gt; now*", "verbatim": True},
    }


def test_an_unexpected_error_falls_back_and_logs_no_alert_value(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret_value = dataclasses.replace(N, name="customer-4711-card")

    def broken(*args: object, **kwargs: object) -> str:
        raise KeyError(secret_value.name)  # a render that escaped TemplateProblem

    monkeypatch.setattr(hook, "render", broken)
    t = templated("webhook", "https://hooks.example/x", "s3cret", body='{"a": {{ name }}}')
    with caplog.at_level(logging.WARNING, logger="alerting.templates"):
        request = WEBHOOK.render(secret_value, t, Recorded().outbound(), NOW_S)
    assert request.body == webhook_body(secret_value)
    [record] = caplog.records
    assert record.getMessage() == (
        f"webhook e-1: template body failed for notification {N.notification_id}"
        " (KeyError, line None), sent the built-in rendering"
    )


BURNING = "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}"


def test_a_template_that_burns_its_budget_renders_at_most_once_per_period(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    now = [0.0]
    monkeypatch.setattr(hook, "SKIPPED", Skipped(clock=lambda: now[0]))
    renders: list[str] = []
    real_render = hook.render

    def counted(channel: str, name: str, source: str, n: OutgoingNotification) -> str:
        renders.append(name)
        return real_render(channel, name, source, n)

    monkeypatch.setattr(hook, "render", counted)
    burning = templated("email", "oncall@acme.example", subject="ok", body=BURNING)
    other_endpoint = dataclasses.replace(burning, endpoint_ids=("e-2",))
    with caplog.at_level(logging.WARNING, logger="alerting.templates"):
        for _ in range(3):
            msg = EMAIL.render(N, burning, Recorded().outbound(), NOW_S)
            assert msg.get_content() == email_text(N)
            assert msg["Subject"] == "ok"  # only the failing template is skipped
        now[0] = SKIP_S - 1
        EMAIL.render(N, burning, Recorded().outbound(), NOW_S)
    assert renders == ["subject", "body"] + ["subject"] * 3
    [record] = caplog.records  # logged once, when it was remembered
    assert record.getMessage().startswith(
        f"email e-1: template body failed for notification {N.notification_id}"
        " (BudgetExceeded, line 1) after "
    )
    assert record.getMessage().endswith(
        "ms of CPU; the built-in rendering is sent for the next 300 s"
    )
    # Another endpoint with the same source, and this one after the period, render again.
    EMAIL.render(N, other_endpoint, Recorded().outbound(), NOW_S)
    now[0] = SKIP_S
    EMAIL.render(N, burning, Recorded().outbound(), NOW_S)
    assert renders[5:] == ["subject", "body"] * 2


def test_skipped_forgets_the_oldest_past_its_size() -> None:
    skipped = Skipped(size=2, clock=lambda: 0.0)
    keys = [("webhook", (f"e-{i}",), "body", "h") for i in range(3)]
    for key in keys:
        skipped.add(key)
    assert [key in skipped for key in keys] == [False, True, True]
