"""Resolved notifications through a real sender process, Postgres, Kafka and the dev
sinks: after the firing one, only where it was delivered, said clearly on every channel,
with their own idempotency key and signature. The aggregator that writes resolved rows
is not part of this: the rows are inserted as it writes them."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.sender_support import (
    Sender,
    Sinks,
    add_endpoint,
    announce,
    insert_notification,
    insert_resolved,
    reaches,
    seed_rule,
    sender,
    sinks,
)
from tests.webhook_receiver import verified

__all__ = ["sender", "sinks"]  # module fixtures from sender_support
pytestmark = pytest.mark.integration


@pytest.fixture
def client_id() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"


async def delivered_to(sender: Sender, notification_id: str) -> dict[str, str]:
    rows = await sender.pool.fetch(
        "SELECT e.value, d.status FROM deliveries d JOIN endpoints e USING (endpoint_id)"
        " WHERE d.notification_id = $1",
        uuid.UUID(notification_id),
    )
    return {r["value"]: r["status"] for r in rows}


async def test_a_resolved_waits_for_its_firing_and_goes_only_where_that_was_delivered(
    sender: Sender, sinks: Sinks, client_id: str
) -> None:
    good, refusing, quiet = (f"{n}-{client_id}" for n in ("good", "refusing", "quiet"))
    sinks.script(good, 500)  # the firing one is retried once: the resolved one waits
    sinks.script(refusing, 400)  # FAILED for the firing one: never told of the recovery
    rule = await seed_rule(sender.pool, client_id)
    secret = await add_endpoint(sender.pool, rule, "webhook", sinks.hook(good))
    await add_endpoint(sender.pool, rule, "webhook", sinks.hook(refusing))
    await add_endpoint(sender.pool, rule, "webhook", sinks.hook(quiet), send_resolved=False)
    firing = await insert_notification(sender.pool, client_id, [rule])
    # Written while the firing one is not delivered yet: due in 5 minutes (the safety
    # net), announced at once; the claim skips it until the firing one is final.
    resolved = await insert_resolved(sender.pool, firing)
    await announce(sender.settings, resolved, client_id)
    await announce(sender.settings, firing, client_id)

    firing_row = await reaches(sender.pool, firing, "FAILED")  # 400 at one endpoint
    assert "HTTP 400" in firing_row["last_error"]
    row = await reaches(sender.pool, resolved, "SENT", timeout=20)  # woken, not 5 minutes
    assert row["last_error"] is None and row["attempts"] == 1

    assert [r["status"] for r in sinks.requests(refusing)] == [400]
    assert len(sinks.requests(quiet)) == 1
    seen = sinks.requests(good)
    assert [(r["body"]["status"], r["status"]) for r in seen] == [
        ("firing", 500), ("firing", 200), ("resolved", 200),
    ]  # fmt: skip
    last = seen[-1]
    assert last["headers"]["idempotency-key"] == resolved != firing
    assert last["body"]["notification_id"] == resolved and last["body"]["episode"] == 1
    assert last["body"]["alert_id"] == seen[0]["body"]["alert_id"]
    assert verified(last, secret) == last["body"]
    assert await delivered_to(sender, resolved) == {sinks.hook(good): "SENT"}


async def test_slack_and_email_say_resolved_first(
    sender: Sender, sinks: Sinks, client_id: str
) -> None:
    slack, to = f"slack-{client_id}", f"oncall-{client_id}@example.com"
    rule = await seed_rule(sender.pool, client_id)
    await add_endpoint(sender.pool, rule, "slack", sinks.hook(slack))
    await add_endpoint(sender.pool, rule, "email", to)
    firing = await insert_notification(sender.pool, client_id, [rule])
    await announce(sender.settings, firing, client_id)
    await reaches(sender.pool, firing, "SENT")
    # Written once the firing one is SENT: due after the aggregator's grace, announced,
    # and claimed from the ready message at once.
    resolved = await insert_resolved(sender.pool, firing, due_in_s=30, name="checkout_errors")
    await announce(sender.settings, resolved, client_id)
    await reaches(sender.pool, resolved, "SENT", timeout=20)

    texts = [r["body"]["text"] for r in sinks.requests(slack)]
    assert texts == [
        "[FIRING] [HIGH] payments: checkout_errors",
        "[RESOLVED] [HIGH] payments: checkout_errors",
    ]
    mails = [m for m in sinks.recorder.emails if to in m["rcpt_tos"]]
    assert [m["subject"] for m in mails] == texts
    assert [m["headers"]["X-Alerting-Notification-Id"] for m in mails] == [firing, resolved]
    assert "status:          resolved (episode 1)" in mails[1]["body"]


async def test_a_firing_delivered_nowhere_resolves_to_nobody_without_a_failure(
    sender: Sender, sinks: Sinks, client_id: str
) -> None:
    hook = f"gone-{client_id}"
    sinks.script(hook, 404)
    rule = await seed_rule(sender.pool, client_id)
    await add_endpoint(sender.pool, rule, "webhook", sinks.hook(hook))
    firing = await insert_notification(sender.pool, client_id, [rule])
    resolved = await insert_resolved(sender.pool, firing)
    await announce(sender.settings, firing, client_id)

    await reaches(sender.pool, firing, "FAILED")
    row = await reaches(sender.pool, resolved, "SENT", timeout=20)
    assert row["last_error"] is None
    assert await delivered_to(sender, resolved) == {}
    assert [r["body"]["status"] for r in sinks.requests(hook)] == ["firing"]
