"""The sender process against real Postgres, Kafka and sinks: retries with one
idempotency key and valid signatures, permanent failures and re-drive, email, lease
takeover, poison messages."""

from __future__ import annotations

import uuid

import pytest

from alerting.adapters.kafka import OutMessage
from alerting.config import Topics
from tests.integration.rule_service_support import Api
from tests.integration.sender_support import (
    Sender,
    Sinks,
    add_endpoint,
    announce,
    insert_expired_claim,
    insert_notification,
    reaches,
    ready_message,
    seed_rule,
    sender,
    sender_api,
    sinks,
    webhook_rule,
)
from tests.kafka_helpers import read_topic
from tests.pipeline_support import produce
from tests.webhook_receiver import verified

__all__ = ["sender", "sender_api", "sinks"]  # module fixtures from sender_support
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api(sender_api: Api) -> Api:
    """The rule-service API on the sender's database, for listing and re-driving."""
    return sender_api


@pytest.fixture
def client_id() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"


async def test_webhook_retried_until_2xx_with_one_idempotency_key_and_valid_signatures(
    sender: Sender, sinks: Sinks, client_id: str
) -> None:
    hook = f"retry-{client_id}"
    sinks.script(hook, 500, 500)
    rule, secret = await webhook_rule(sender.pool, client_id, sinks.hook(hook))
    nid = await insert_notification(sender.pool, client_id, [rule])
    await announce(sender.settings, nid, client_id)

    row = await reaches(sender.pool, nid, "SENT")
    assert row["attempts"] == 3 and row["claimed_by"] is None and row["sent_at"] is not None
    seen = sinks.requests(hook)
    assert [r["status"] for r in seen] == [500, 500, 200]
    for request in seen:
        headers = request["headers"]
        assert headers["idempotency-key"] == nid
        assert headers["content-type"] == "application/json"
        assert headers["user-agent"].startswith("alerting-sender/")
        assert headers["webhook-id"] == nid  # the same on every retry
        assert verified(request, secret) == request["body"]
        assert request["body"]["notification_id"] == nid
        assert request["body"]["rule_ids"] == [rule]
        assert request["body"]["context"] == {"region": "eu"}
    delivery = await sender.pool.fetchrow(
        "SELECT status, attempts, response_code FROM deliveries WHERE notification_id = $1",
        uuid.UUID(nid),
    )
    assert dict(delivery) == {"status": "SENT", "attempts": 3, "response_code": 200}


async def test_permanent_failure_is_listed_and_a_redrive_delivers_it(
    sender: Sender, sinks: Sinks, api: Api, client_id: str
) -> None:
    hook = f"perm-{client_id}"
    sinks.script(hook, 400)
    rule, _ = await webhook_rule(sender.pool, client_id, sinks.hook(hook))
    nid = await insert_notification(sender.pool, client_id, [rule])
    await announce(sender.settings, nid, client_id)

    row = await reaches(sender.pool, nid, "FAILED")
    assert row["attempts"] == 1 and "HTTP 400" in row["last_error"]
    listed = await api.ok(
        "GET", "/api/v1/notifications", 200, params={"client_id": client_id, "status": "FAILED"}
    )
    assert [n["notification_id"] for n in listed["items"]] == [nid]
    detail = await api.ok("GET", f"/api/v1/notifications/{nid}", 200)
    assert [(d["status"], d["response_code"]) for d in detail["deliveries"]] == [("FAILED", 400)]

    await api.ok("POST", f"/api/v1/notifications/{nid}/retry", 202)  # the sink now answers 200
    row = await reaches(sender.pool, nid, "SENT")
    assert row["attempts"] == 1  # a fresh budget, one attempt used
    assert [r["status"] for r in sinks.requests(hook)] == [400, 200]


async def test_redrive_never_calls_an_endpoint_that_already_succeeded(
    sender: Sender, sinks: Sinks, api: Api, client_id: str
) -> None:
    good, bad = f"good-{client_id}", f"bad-{client_id}"
    sinks.script(bad, 404)
    rule = await seed_rule(sender.pool, client_id)
    other_rule = await seed_rule(sender.pool, client_id)
    await add_endpoint(sender.pool, rule, "webhook", sinks.hook(good))
    await add_endpoint(sender.pool, rule, "webhook", sinks.hook(bad))
    # The same URL on a second matching rule: one target, called once.
    await add_endpoint(sender.pool, other_rule, "webhook", sinks.hook(good))
    nid = await insert_notification(sender.pool, client_id, [rule, other_rule])
    await announce(sender.settings, nid, client_id)

    row = await reaches(sender.pool, nid, "FAILED")
    assert "HTTP 404" in row["last_error"]
    assert len(sinks.requests(good)) == 1 and len(sinks.requests(bad)) == 1

    await api.ok("POST", f"/api/v1/notifications/{nid}/retry", 202)
    await reaches(sender.pool, nid, "SENT")
    assert len(sinks.requests(good)) == 1  # not called again
    assert [r["status"] for r in sinks.requests(bad)] == [404, 200]
    statuses = await sender.pool.fetch(
        "SELECT status FROM deliveries WHERE notification_id = $1", uuid.UUID(nid)
    )
    assert [r["status"] for r in statuses] == ["SENT"] * 3


async def test_email_arrives_with_subject_recipient_and_notification_header(
    sender: Sender, sinks: Sinks, client_id: str
) -> None:
    to = f"oncall-{client_id}@example.com"
    rule = await seed_rule(sender.pool, client_id)
    await add_endpoint(sender.pool, rule, "email", to)
    nid = await insert_notification(sender.pool, client_id, [rule])
    await announce(sender.settings, nid, client_id)

    await reaches(sender.pool, nid, "SENT")
    mails = [m for m in sinks.recorder.emails if to in m["rcpt_tos"]]
    assert len(mails) == 1
    mail = mails[0]
    assert mail["subject"] == "[FIRING] [HIGH] payments: checkout_errors"
    assert mail["headers"]["X-Alerting-Notification-Id"] == nid
    assert mail["mail_from"] == "alerts@alerting.local"
    assert "region: eu" in mail["body"]


async def test_an_expired_claim_is_taken_over_by_the_poller(
    sender: Sender, sinks: Sinks, client_id: str
) -> None:
    hook = f"lease-{client_id}"
    rule, _ = await webhook_rule(sender.pool, client_id, sinks.hook(hook))
    taken_over_before = await sender.metric("alerting_sender_taken_over_total")
    # A sender claimed it and died: no ready message will come for it again.
    nid = await insert_expired_claim(sender.pool, client_id, rule, attempts=1)
    row = await reaches(sender.pool, nid, "SENT")
    assert row["attempts"] == 2
    assert [r["headers"]["idempotency-key"] for r in sinks.requests(hook)] == [nid]
    assert await sender.metric("alerting_sender_taken_over_total") > taken_over_before


async def test_poison_goes_to_the_dlq_and_the_next_message_is_delivered(
    sender: Sender, sinks: Sinks, client_id: str
) -> None:
    hook = f"after-poison-{client_id}"
    rule, _ = await webhook_rule(sender.pool, client_id, sinks.hook(hook))
    nid = await insert_notification(sender.pool, client_id, [rule])
    topic = sender.settings.topics.notifications_ready
    poison = OutMessage(topic, client_id.encode(), b"\x08\x96\x01garbage\xff")
    await produce(sender.settings, [poison, ready_message(sender.settings, nid, client_id)])

    await reaches(sender.pool, nid, "SENT")
    assert len(sinks.requests(hook)) == 1
    dead = await read_topic(sender.settings.kafka, Topics.dlq(topic), 1)
    assert [m.value for m in dead] == [poison.value]
    assert dict(dead[0].headers)["service"] == b"sender"


async def test_readiness_answers_the_verdict_only(sender: Sender) -> None:
    """Issue 13 item 12 changed this contract: /readyz no longer names each check (the
    details go to the log), so the body is the status alone."""
    import httpx

    async with httpx.AsyncClient() as client:
        ready = await client.get(f"{sender.process.url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


async def test_a_notification_whose_claims_keep_expiring_is_given_up(
    sender: Sender, sinks: Sinks, client_id: str
) -> None:
    hook = f"crashloop-{client_id}"
    rule, _ = await webhook_rule(sender.pool, client_id, sinks.hook(hook))
    # Its last allowed attempt (5) was claimed and never finished: stop, do not call again.
    nid = await insert_expired_claim(sender.pool, client_id, rule, attempts=5)
    row = await reaches(sender.pool, nid, "FAILED")
    assert "every claim expired" in row["last_error"]
    assert sinks.requests(hook) == []
