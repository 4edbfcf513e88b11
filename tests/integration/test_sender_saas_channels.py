"""PagerDuty, Teams and Slack through a real sender process, Postgres, Kafka and a local
receiver (the dev sinks on 127.0.0.1) standing in for the SaaS: the receiver gets the
documented payloads (Events API v2 trigger and resolve, an Adaptive Card, Block Kit
with mentions escaped), and PagerDuty's answers are classified as it documents them."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from alerting.config import Settings
from alerting.services.rule_service.endpoint_values import sealed_secret
from tests.integration import sender_support as support
from tests.integration.sender_support import Sender, Sinks, sender, sinks

__all__ = ["sender", "sinks"]  # module fixtures from sender_support
pytestmark = pytest.mark.integration

KEY = "R0ut1ngKeyR0ut1ngKeyR0ut1ngKey32"
OTHER_KEY = "0therKey0therKey0therKey0therKey"
HOSTILE = "<!channel> & <@U123>"


@pytest.fixture
def client_id() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"


async def add_pagerduty(
    pool: asyncpg.Pool[Any], settings: Settings, rule_id: str, url: str, key: str
) -> str:
    """A pagerduty endpoint as the API stores it: the routing key sealed."""
    endpoint_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO endpoints (endpoint_id, rule_id, type, value, signing_secret)"
        " VALUES ($1, $2, 'pagerduty', $3, $4)",
        endpoint_id, uuid.UUID(rule_id), url, sealed_secret(key, endpoint_id, settings),
    )  # fmt: skip
    return str(endpoint_id)


async def fire(sender: Sender, client_id: str, rules: list[str], **columns: Any) -> str:
    sent = await support.insert_notification(sender.pool, client_id, rules, **columns)
    await support.announce(sender.settings, sent, client_id)
    return sent


async def test_pagerduty_triggers_then_resolves_one_dedup_key(
    sender: Sender, sinks: Sinks, client_id: str
) -> None:
    name = f"pd-{client_id}"
    rule = await support.seed_rule(sender.pool, client_id)
    await add_pagerduty(sender.pool, sender.settings, rule, sinks.hook(name), KEY)
    firing = await fire(sender, client_id, [rule])
    await support.reaches(sender.pool, firing, "SENT")
    resolved = await support.insert_resolved(sender.pool, firing, due_in_s=30)
    await support.announce(sender.settings, resolved, client_id)
    await support.reaches(sender.pool, resolved, "SENT", timeout=20)

    trigger, resolve = (r["body"] for r in sinks.requests(name))
    dedup_key = f"{client_id}/a-{firing}/1"
    # The exact rendering is pinned by tests/unit/test_channel_pagerduty.py; here, what
    # this notification's row became on the wire.
    assert (trigger["routing_key"], trigger["event_action"]) == (KEY, "trigger")
    assert trigger["dedup_key"] == dedup_key
    payload = trigger["payload"]
    assert payload["summary"] == "[FIRING] [HIGH] payments: checkout_errors"
    assert (payload["severity"], payload["timestamp"]) == ("error", "2023-11-14T22:13:20Z")
    details = payload["custom_details"]
    assert (details["notification_id"], details["rule_ids"]) == (firing, [rule])
    assert details["context"] == {"region": "eu"} and details["episode"] == 1
    assert resolve == {"routing_key": KEY, "event_action": "resolve", "dedup_key": dedup_key}


async def test_routing_keys_behind_one_url_are_one_event_each(
    sender: Sender, sinks: Sinks, client_id: str
) -> None:
    name = f"pd-{client_id}"
    rules = [await support.seed_rule(sender.pool, client_id) for _ in range(3)]
    for rule, key in zip(rules, (KEY, OTHER_KEY, KEY), strict=True):
        await add_pagerduty(sender.pool, sender.settings, rule, sinks.hook(name), key)
    await support.reaches(sender.pool, await fire(sender, client_id, rules), "SENT")
    keys = sorted(r["body"]["routing_key"] for r in sinks.requests(name))
    assert keys == sorted([KEY, OTHER_KEY])  # the third endpoint shares the first's event


async def test_pagerduty_400_fails_at_once_and_429_and_500_are_retried(
    sender: Sender, sinks: Sinks, client_id: str
) -> None:
    refused, busy = f"pd-400-{client_id}", f"pd-busy-{client_id}"
    sinks.script(refused, 400)
    sinks.script(busy, 429, 500)
    bad_rule, busy_rule = [await support.seed_rule(sender.pool, client_id) for _ in range(2)]
    await add_pagerduty(sender.pool, sender.settings, bad_rule, sinks.hook(refused), KEY)
    await add_pagerduty(sender.pool, sender.settings, busy_rule, sinks.hook(busy), KEY)
    failed = await fire(sender, client_id, [bad_rule])
    retried = await fire(sender, client_id, [busy_rule])

    row = await support.reaches(sender.pool, failed, "FAILED")
    assert row["attempts"] == 1 and len(sinks.requests(refused)) == 1
    assert "HTTP 400: PagerDuty refused the event as invalid" in row["last_error"]
    row = await support.reaches(sender.pool, retried, "SENT")
    assert row["attempts"] == 3
    assert [r["status"] for r in sinks.requests(busy)] == [429, 500, 200]
    assert (await support.notification(sender.pool, retried))["last_error"] is None


async def test_teams_gets_an_adaptive_card(sender: Sender, sinks: Sinks, client_id: str) -> None:
    name = f"teams-{client_id}"
    rule = await support.seed_rule(sender.pool, client_id)
    await support.add_endpoint(sender.pool, rule, "teams", sinks.hook(name))
    sent = await fire(sender, client_id, [rule], context={"runbook": "[x](http://evil)"})
    await support.reaches(sender.pool, sent, "SENT")
    [request] = sinks.requests(name)
    assert request["headers"]["content-type"] == "application/json"
    message = request["body"]
    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    head, said, fields, _, context = card["body"]
    assert head["inlines"][0]["text"] == "[FIRING] [HIGH] payments: checkout_errors"
    assert said["inlines"][0]["text"].startswith("Alert checkout_errors from payments is firing")
    assert {"title": "notification_id", "value": sent} in fields["facts"]
    assert context["facts"] == [{"title": "runbook", "value": "\\[x\\](http://evil)"}]


async def test_slack_gets_blocks_with_every_mention_escaped(
    sender: Sender, sinks: Sinks, client_id: str
) -> None:
    name = f"slack-{client_id}"
    rule = await support.seed_rule(sender.pool, client_id)
    await support.add_endpoint(sender.pool, rule, "slack", sinks.hook(name))
    sent = await fire(
        sender, client_id, [rule], name=HOSTILE, source=HOSTILE, context={HOSTILE: HOSTILE}
    )
    await support.reaches(sender.pool, sent, "SENT")
    [request] = sinks.requests(name)
    raw = request["raw_body"]
    assert "<!" not in raw and "<@" not in raw
    escaped = "&lt;!channel&gt; &amp; &lt;@U123&gt;"
    payload = request["body"]
    assert payload["text"] == f"[FIRING] [HIGH] {escaped}: {escaped}"
    header, main, fields, ids = payload["blocks"]
    assert header["type"] == "header" and header["text"]["text"] == payload["text"]
    assert main["text"]["text"].startswith(f":rotating_light: Alert *{escaped}* from *{escaped}*")
    assert {"type": "mrkdwn", "text": f"*{escaped}*\n{escaped}", "verbatim": True} in fields[
        "fields"
    ]
    assert ids["type"] == "context" and sent in ids["elements"][0]["text"]
