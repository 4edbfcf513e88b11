"""The alert lifecycle end to end (docs/lifecycle.md), public APIs only: an alert fires,
is re-sent while it fires, resolves, fires again and resolves twice; what a webhook, an
email address and a webhook with ``send_resolved: false`` receive, and in which order."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.e2e.lifecycle import (
    Arrival,
    Source,
    email_arrivals,
    rows_of,
    wait_rows,
    webhook_arrivals,
)
from tests.e2e.pipeline import Pipeline
from tests.pipeline_support import eventually
from tests.webhook_receiver import signature_verifies

pytestmark = pytest.mark.e2e
EPISODE_KIND_STATUS = ("episode", "kind", "status")

EMAIL = "oncall@life.example"


async def test_fire_resend_resolve_fire_again_resolve_twice(
    pipeline: Pipeline, unique: str
) -> None:
    await pipeline.start()
    hook, quiet = f"{pipeline.hook_base}/life", f"{pipeline.hook_base}/quiet"
    tenant = await pipeline.create_tenant(
        f"life-{unique}",
        rules=[("HIGH", "db", "*")],
        endpoints=[("webhook", hook), ("email", EMAIL)],
        wait=10,
    )
    rule_id = tenant.rule_ids[0]
    created = await pipeline.api(
        "POST",
        f"/api/v1/rules/{rule_id}/endpoints",
        tenant.token,
        json={"type": "webhook", "value": quiet, "send_resolved": False},
    )
    assert created["send_resolved"] is False
    endpoints = await pipeline.listed(f"/api/v1/rules/{rule_id}/endpoints", tenant.token)
    assert sorted(e["send_resolved"] for e in endpoints) == [False, True, True]

    alert = Source(pipeline, f"db-{unique}")

    async def arrivals() -> dict[str, list[Arrival]]:
        mails = [a for a in await email_arrivals(pipeline) if a.alert_id == alert.alert_id]
        return {
            "life": await webhook_arrivals(pipeline, "life"),
            "quiet": await webhook_arrivals(pipeline, "quiet"),
            "email": mails,
        }

    async def kinds_reach(expected: dict[str, list[str]]) -> dict[str, list[Arrival]]:
        """Until each endpoint got exactly these kinds, in this order (never more)."""

        async def reached() -> dict[str, list[Arrival]]:
            got = await arrivals()
            kinds = {name: [a.kind for a in items] for name, items in got.items()}
            for name, want in expected.items():
                assert kinds[name] == want[: len(kinds[name])], (name, kinds[name], want)
            return got if kinds == expected else {}

        return await eventually(reached, timeout=30, what=f"deliveries {expected}")

    # Fire: one firing delivery at each endpoint.
    await alert.fire()
    first = await kinds_reach({"life": ["firing"], "quiet": ["firing"], "email": ["firing"]})

    # Re-sent five times while it fires: the same episode, nothing new.
    await alert.fire(5)
    await pipeline.wait_matches_consumed(alert.posted)
    rows = await wait_rows(
        pipeline, tenant.token, alert.alert_id, [(1, "firing", "SENT")], EPISODE_KIND_STATUS
    )
    firing_1 = rows[0]["notification_id"]

    # Resolve: one resolved delivery, to the endpoints that want it, with its own id.
    await alert.resolve()
    second = await kinds_reach(
        {"life": ["firing", "resolved"], "quiet": ["firing"], "email": ["firing", "resolved"]}
    )
    rows = await rows_of(pipeline, tenant.token, alert.alert_id)
    assert [(r["episode"], r["kind"]) for r in rows] == [(1, "firing"), (1, "resolved")]
    resolved_1 = rows[1]
    assert resolved_1["firing_id"] == firing_1
    assert resolved_1["notification_id"] != firing_1
    for name in ("life", "email"):
        fired, resolved = second[name]
        assert fired.notification_id == first[name][0].notification_id == firing_1
        assert resolved.notification_id == resolved_1["notification_id"]
    webhook_resolved = second["life"][1].request
    assert webhook_resolved["body"]["episode"] == 1
    secret = tenant.secrets[(rule_id, hook)]
    assert secret and signature_verifies(webhook_resolved, secret)
    assert second["email"][1].request["subject"].startswith("[RESOLVED]")
    await wait_rows(
        pipeline, tenant.token, alert.alert_id, [("firing", "SENT"), ("resolved", "SENT")]
    )
    detail = await pipeline.api(
        "GET", f"/api/v1/notifications/{resolved_1['notification_id']}", tenant.token
    )
    assert [(r["kind"], r["status"]) for r in detail["episode_rows"]] == [
        ("firing", "SENT"),
        ("resolved", "SENT"),
    ]

    # Fire again: a new episode, a new firing delivery (to every endpoint). The webhook
    # fails it twice first, and the resolved is posted before it is delivered: the
    # resolved waits for it and still arrives after it.
    await pipeline.http.put(f"{pipeline.sinks.url}/script/life", json={"statuses": [500, 500]})
    await alert.fire()
    await alert.resolve(2)
    final = await kinds_reach(
        {
            "life": ["firing", "resolved", "firing", "firing", "firing", "resolved"],
            "quiet": ["firing", "firing"],
            "email": ["firing", "resolved", "firing", "resolved"],
        }
    )
    await pipeline.wait_matches_consumed(alert.posted)
    rows = await wait_rows(
        pipeline,
        tenant.token,
        alert.alert_id,
        [
            (1, "firing", "SENT"),
            (1, "resolved", "SENT"),
            (2, "firing", "SENT"),
            (2, "resolved", "SENT"),
        ],
        fields=EPISODE_KIND_STATUS,
    )
    ids = [r["notification_id"] for r in rows]
    assert len(set(ids)) == 4
    assert rows[3]["firing_id"] == ids[2]
    statuses = [a.request["status"] for a in final["life"]]
    assert statuses == [200, 200, 500, 500, 200, 200]
    for name, items in final.items():
        # Every message is one of the four rows, each at most once when answered 200.
        assert {a.notification_id for a in items} <= set(ids)
        delivered = Counter(a.notification_id for a in items if a.request.get("status", 200) == 200)
        assert all(n == 1 for n in delivered.values()), (name, delivered)
    assert [a.notification_id for a in final["quiet"]] == [ids[0], ids[2]]
    assert final["life"][-1].request["body"]["episode"] == 2
    assert signature_verifies(final["life"][-1].request, secret)
