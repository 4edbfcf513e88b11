"""The data plane end to end, through the public APIs only: rules and endpoints made
with the admin and client tokens, alerts posted to ingest, notifications observed at
the local webhook and SMTP sinks."""

from __future__ import annotations

import httpx
import pytest

from alerting.channels.standard_webhooks import new_secret
from tests.e2e.pipeline import Pipeline, processed
from tests.pipeline_support import eventually
from tests.webhook_receiver import signature_verifies

pytestmark = pytest.mark.e2e


async def test_one_notification_per_client_and_alert_reaches_the_sinks(
    pipeline: Pipeline, unique: str
) -> None:
    await pipeline.start()
    acme_hook, bolt_hook = f"{pipeline.hook_base}/acme", f"{pipeline.hook_base}/bolt"
    acme = await pipeline.create_tenant(
        f"acme-{unique}",
        rules=[
            ("HIGH", "payments", "*"),
            ("*", "payments", "checkout_errors"),
            ("HIGH", "*", "checkout_errors"),
        ],
        endpoints=[("webhook", acme_hook), ("email", "oncall@acme.example")],
    )
    bolt = await pipeline.create_tenant(
        f"bolt-{unique}", rules=[("*", "payments", "*")], endpoints=[("webhook", bolt_hook)]
    )
    await pipeline.wait_rules_live(4)

    a1 = {
        "severity": "HIGH",
        "source": "payments",
        "name": "checkout_errors",
        "event_ts": 1_750_000_000,
    }
    a2 = {"alert_id": f"a2-{unique}", "severity": "LOW", "source": "payments", "name": "latency"}
    a3 = {"severity": "HIGH", "source": "search", "name": "checkout_errors", "context": {"k": "v"}}
    a4 = {"severity": "MEDIUM", "source": "search", "name": "slow"}
    ids = await pipeline.post_alerts([a1, a2, a3, a4, a2])
    # The same alert again: without an alert_id it gets the same stable id.
    assert (await pipeline.post_alerts([a1]))[0] == ids[0]
    assert ids[1] == ids[4] == a2["alert_id"]
    posted = 6
    matches = 2 * 2 + 2 * 1 + 1  # a1 twice x (acme, bolt); a2 twice x bolt; a3 x acme

    async def all_consumed() -> bool:
        ev = (await pipeline.http.get(f"{pipeline.url('evaluator')}/metrics")).text
        ag = (await pipeline.http.get(f"{pipeline.url('aggregator')}/metrics")).text
        return (
            processed(ev, pipeline.settings.topics.alerts_new) == posted
            and processed(ag, pipeline.settings.topics.alerts_matched) == matches
        )

    await eventually(all_consumed, what="every alert and match consumed")

    async def all_sent() -> dict[str, int]:
        counts = await pipeline.status_counts()
        return counts if counts == {"SENT": 4} else {}

    await eventually(all_sent, what="four notifications SENT")
    rows = await pipeline.notifications()
    assert sorted((r["client_id"], r["alert_id"]) for r in rows) == sorted(
        [
            (acme.client_id, ids[0]),
            (acme.client_id, ids[2]),
            (bolt.client_id, ids[0]),
            (bolt.client_id, ids[1]),
        ]
    )
    by_key = {(r["client_id"], r["alert_id"]): r["id"] for r in rows}

    acme_calls, bolt_calls = await pipeline.received("acme"), await pipeline.received("bolt")
    assert sorted(c["body"]["alert_id"] for c in acme_calls) == sorted([ids[0], ids[2]])
    assert sorted(c["body"]["alert_id"] for c in bolt_calls) == sorted([ids[0], ids[1]])
    for calls, tenant, hook in ((acme_calls, acme, acme_hook), (bolt_calls, bolt, bolt_hook)):
        for call in calls:
            body = call["body"]
            # Each endpoint has its own secret. When several matched rules name the same
            # URL, the request is sent once, signed with the oldest of those endpoints.
            signer = next(r for r in tenant.rule_ids if r in body["rule_ids"])
            secret = tenant.secrets[(signer, hook)]
            assert secret
            assert signature_verifies(call, secret)
            assert not signature_verifies(call, new_secret())  # another secret
            assert (
                call["headers"]["idempotency-key"] == by_key[(tenant.client_id, body["alert_id"])]
            )
            assert body["client_id"] == tenant.client_id
            assert set(body["rule_ids"]) <= set(tenant.rule_ids)
    a1_call = next(c for c in acme_calls if c["body"]["alert_id"] == ids[0])
    assert sorted(a1_call["body"]["rule_ids"]) == sorted(acme.rule_ids)  # all three matched

    emails = await pipeline.emails()
    assert len(emails) == 2
    assert all(e["rcpt_tos"] == ["oncall@acme.example"] for e in emails)
    assert any("checkout_errors" in e["subject"] for e in emails)

    # Tenant isolation holds on the notification API as well.
    own = await pipeline.api("GET", "/api/v1/notifications", bolt.token)
    assert {n["client_id"] for n in own["items"]} == {bolt.client_id}
    other = httpx.get(
        f"{pipeline.url('rule-service')}/api/v1/notifications/{by_key[(acme.client_id, ids[0])]}",
        headers={"Authorization": f"Bearer {bolt.token}"},
    )
    assert other.status_code == 404
