"""Each channel's digest through ``dispatch.deliver_digest`` and the sender's real
transports (aiohttp, the SMTP pool, the URL guard) to the local receivers (the dev
sinks on 127.0.0.1, standing in for Slack, Teams and PagerDuty too): what arrives is
the documented format, a webhook digest verifies with the official package and counts
its members, and the receivers' answers are judged as for a single notification."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from alerting.adapters.http_post import HttpPoster
from alerting.adapters.smtp import SmtpPool
from alerting.adapters.url_guard import UrlGuard
from alerting.channels import dispatch
from alerting.channels.base import Outbound
from alerting.channels.builtin import pagerduty, slack, teams, webhook
from alerting.channels.standard_webhooks import new_secret
from alerting.config import SmtpSettings
from alerting.domain.delivery import Outcome, Target
from alerting.domain.delivery_messages import Digest
from alerting.domain.grouping import incident_key
from tests.integration.sender_support import Sinks, sinks
from tests.unit.channel_support import N2, D, N, digest_of, resolved_of
from tests.webhook_receiver import verified

__all__ = ["sinks"]  # the module fixture from sender_support
pytestmark = pytest.mark.integration
KEY = "R0ut1ngKeyR0ut1ngKeyR0ut1ngKey32"
SENDER = "alerts@alerting.local"


@pytest.fixture
async def outbound(sinks: Sinks) -> AsyncIterator[Outbound]:
    """The sender's transports, pointed at the sinks (private addresses allowed)."""
    smtp_settings = SmtpSettings("127.0.0.1", sinks.smtp_port, "", "", False, SENDER)
    http = HttpPoster(2, 5.0, allow_private=True)
    smtp = SmtpPool(smtp_settings, 1, 5.0)
    try:
        yield Outbound(http, smtp, UrlGuard(allow_private=True), SENDER, time.time)
    finally:
        await http.close()
        await smtp.close()


def hook(type_: str, value: str, secret: str | None = None) -> Target:
    return Target(type_, value, secret, (str(uuid.uuid4()),), None)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def test_a_webhook_digest_arrives_verifiable_as_one_request(
    sinks: Sinks, outbound: Outbound
) -> None:
    name, secret = unique("digest"), new_secret()
    attempt = await dispatch.deliver_digest(D, hook("webhook", sinks.hook(name), secret), outbound)
    assert (attempt.outcome, attempt.response_code) == (Outcome.SENT, 200)
    [request] = sinks.requests(name)
    assert request["members"] == 2  # what the e2e helper counts
    items = verified(request, secret)
    assert items == [json.loads(webhook.body(N)), json.loads(webhook.body(N2))]
    headers = request["headers"]
    assert headers["webhook-id"] == headers["idempotency-key"] == D.digest_id
    assert (headers["x-alerting-group-id"], headers["x-alerting-digest-seq"]) == (D.group_id, "2")


async def test_a_webhook_receivers_410_asks_to_disable_the_endpoint(
    sinks: Sinks, outbound: Outbound
) -> None:
    name = unique("gone")
    sinks.script(name, 410)
    attempt = await dispatch.deliver_digest(D, hook("webhook", sinks.hook(name), "k"), outbound)
    assert (attempt.outcome, attempt.response_code) == (Outcome.FAILED, 410)
    assert attempt.disable_reason is not None
    assert attempt.disable_reason.startswith("receiver answered 410 Gone at ")


async def test_an_email_digest_is_one_message_listing_every_member(
    sinks: Sinks, outbound: Outbound
) -> None:
    to = f"{unique('oncall')}@acme.example"
    big: Digest = digest_of(300)
    attempt = await dispatch.deliver_digest(big, hook("email", to), outbound)
    assert attempt.outcome is Outcome.SENT
    [mail] = [m for m in sinks.recorder.emails if m["rcpt_tos"] == [to]]
    assert mail["subject"] == "[FIRING] 300 alerts: region=eu"
    assert mail["headers"]["Message-ID"] == f"<{big.digest_id}@alerting.local>"
    lines = mail["body"].splitlines()
    assert sum(" \u00b7 alert_id a-" in line for line in lines) == 300


@pytest.mark.parametrize(
    ("type_", "render"), [("slack", slack.digest_body), ("teams", teams.digest_body)]
)
async def test_chat_receivers_get_one_summary(
    sinks: Sinks, outbound: Outbound, type_: str, render: Callable[[Digest], bytes]
) -> None:
    name = unique(type_)
    big = dataclasses.replace(digest_of(523), members=(N2, *digest_of(522).members))
    attempt = await dispatch.deliver_digest(big, hook(type_, sinks.hook(name)), outbound)
    assert attempt.outcome is Outcome.SENT
    [request] = sinks.requests(name)
    assert request["headers"]["content-type"] == "application/json"
    assert request["body"] == json.loads(render(big))
    assert "and 503 more" in request["raw_body"]
    if type_ == "slack":  # the hostile member's mentions arrive escaped
        assert "<!" not in request["raw_body"] and "<@" not in request["raw_body"]


async def test_pagerduty_triggers_then_resolves_the_groups_incident(
    sinks: Sinks, outbound: Outbound
) -> None:
    name = unique("pd")
    target = hook("pagerduty", sinks.hook(name), KEY)
    resolved = resolved_of(D)
    for digest in (D, dataclasses.replace(resolved, still_firing=1), resolved):
        assert (await dispatch.deliver_digest(digest, target, outbound)).outcome is Outcome.SENT
    trigger, update, resolve = (r["body"] for r in sinks.requests(name))
    assert trigger == pagerduty.digest_event(D, KEY, target.endpoint_ids[0])
    dedup_key = incident_key(target.endpoint_ids[0], D.labels)
    assert (update["event_action"], update["dedup_key"]) == ("trigger", dedup_key)
    assert update["payload"]["summary"].endswith("; 1 still firing")
    assert resolve == {"routing_key": KEY, "event_action": "resolve", "dedup_key": dedup_key}


async def test_pagerdutys_400_is_a_permanent_failure_with_its_explanation(
    sinks: Sinks, outbound: Outbound
) -> None:
    name = unique("pd-400")
    sinks.script(name, 400)
    attempt = await dispatch.deliver_digest(D, hook("pagerduty", sinks.hook(name), KEY), outbound)
    assert attempt.outcome is Outcome.FAILED and attempt.error == pagerduty.REFUSED
