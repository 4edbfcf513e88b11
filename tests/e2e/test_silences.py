"""Silences and maintenance windows end to end (docs/lifecycle.md), public APIs only:
what an active silence mutes (SUPPRESSED with its id, nothing at the sink), what its
expiry releases (the still-open episodes, once; not the resolved ones), a weekly window
in another time zone, and another tenant's silence (no effect, 404)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.lifecycle import Source, wait_rows, webhook_arrivals
from tests.e2e.pipeline import Pipeline, Tenant

pytestmark = pytest.mark.e2e

# The rule-service's release loop period (ALERTING_SILENCE_RELEASE_INTERVAL_S default).
RELEASE_INTERVAL_S = 2.0
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


async def create_silence(pipeline: Pipeline, tenant: Tenant, **body: Any) -> dict[str, Any]:
    """As the tenant, waiting until every evaluator holds it."""
    silence: dict[str, Any] = await pipeline.api(
        "POST",
        "/api/v1/silences",
        tenant.token,
        params={"wait": 10},
        json={"client_id": tenant.client_id, **body},
    )
    assert silence["live"] is True, silence
    return silence


def equal(name: str, value: str) -> dict[str, str]:
    return {"name": name, "op": "=", "value": value}


def in_an_hour() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).isoformat()


async def wait_statuses(
    pipeline: Pipeline, tenant: Tenant, alert_id: str, expected: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    return await wait_rows(pipeline, tenant.token, alert_id, list(expected))


async def test_a_silence_suppresses_and_its_expiry_releases_open_episodes_only(
    pipeline: Pipeline, unique: str
) -> None:
    await pipeline.start()
    acme = await pipeline.create_tenant(
        f"acme-{unique}",
        rules=[("*", "db", "*")],
        endpoints=[("webhook", f"{pipeline.hook_base}/acme")],
        wait=10,
    )
    bolt = await pipeline.create_tenant(
        f"bolt-{unique}",
        rules=[("*", "db", "*")],
        endpoints=[("webhook", f"{pipeline.hook_base}/bolt")],
        wait=10,
    )
    mute = await create_silence(
        pipeline,
        acme,
        matchers=[equal("source", "db"), {"name": "name", "op": "=~", "value": "disk_.*"}],
        ends_at=in_an_hour(),
        comment="disk maintenance",
    )
    assert mute["state"] == "active"
    assert mute["created_by"].startswith("key:")
    # Bolt mutes everything from db: that must change nothing for acme.
    bolts = await create_silence(
        pipeline, bolt, matchers=[equal("source", "db")], ends_at=in_an_hour()
    )

    still_open = Source(pipeline, f"full-{unique}", name="disk_full")
    closed = Source(pipeline, f"slow-{unique}", name="disk_slow")
    other = Source(pipeline, f"cpu-{unique}", name="cpu_high")
    await still_open.fire()
    await closed.fire()
    await closed.resolve()
    await other.fire()
    await pipeline.wait_matches_consumed(2 * 4)

    full = await wait_statuses(pipeline, acme, still_open.alert_id, [("firing", "SUPPRESSED")])
    assert full[0]["silence_id"] == mute["silence_id"]
    slow = await wait_statuses(
        pipeline, acme, closed.alert_id, [("firing", "SUPPRESSED"), ("resolved", "SUPPRESSED")]
    )
    assert {r["silence_id"] for r in slow} == {mute["silence_id"]}
    await wait_statuses(pipeline, acme, other.alert_id, [("firing", "SENT")])
    suppressed = await pipeline.listed("/api/v1/notifications", acme.token, status="SUPPRESSED")
    assert sorted(r["alert_id"] for r in suppressed) == sorted(
        [still_open.alert_id, closed.alert_id, closed.alert_id]
    )
    # Bolt's rows are all muted by bolt's own silence, acme's cpu_high was delivered.
    for source in (still_open, other):
        rows = await wait_statuses(pipeline, bolt, source.alert_id, [("firing", "SUPPRESSED")])
        assert rows[0]["silence_id"] == bolts["silence_id"]
    assert [a.alert_id for a in await webhook_arrivals(pipeline, "acme")] == [other.alert_id]
    assert await webhook_arrivals(pipeline, "bolt") == []

    # Another tenant's silence answers 404 to acme, whatever the method.
    path = f"{pipeline.url('rule-service')}/api/v1/silences/{bolts['silence_id']}"
    as_acme = {"Authorization": f"Bearer {acme.token}"}
    for method, body in (
        ("GET", None),
        ("PATCH", {"version": 1, "comment": "x"}),
        ("DELETE", None),
    ):
        answer = await pipeline.http.request(method, path, headers=as_acme, json=body)
        assert answer.status_code == 404, (method, answer.text)
    listed = await pipeline.listed("/api/v1/silences", acme.token)
    assert [s["silence_id"] for s in listed] == [mute["silence_id"]]

    # Expire acme's silence: the still-open episode is delivered, once; the resolved
    # one never is, nor anything of bolt's.
    expire = await pipeline.http.delete(
        f"{pipeline.url('rule-service')}/api/v1/silences/{mute['silence_id']}", headers=as_acme
    )
    assert expire.status_code == 204, expire.text
    expired = await pipeline.api("GET", f"/api/v1/silences/{mute['silence_id']}", acme.token)
    assert expired["state"] == "expired"
    released = await wait_statuses(pipeline, acme, still_open.alert_id, [("firing", "SENT")])
    assert released[0]["notification_id"] == full[0]["notification_id"]
    # Two more release passes: a row released twice would be delivered twice.
    await asyncio.sleep(2 * RELEASE_INTERVAL_S + 0.5)
    arrivals = await webhook_arrivals(pipeline, "acme")
    assert sorted(a.alert_id for a in arrivals) == sorted([other.alert_id, still_open.alert_id])
    assert {a.kind for a in arrivals} == {"firing"}
    await wait_statuses(
        pipeline, acme, closed.alert_id, [("firing", "SUPPRESSED"), ("resolved", "SUPPRESSED")]
    )
    assert await webhook_arrivals(pipeline, "bolt") == []

    # The released episode closes normally: its resolved follows its firing.
    await still_open.resolve()
    await wait_statuses(
        pipeline, acme, still_open.alert_id, [("firing", "SENT"), ("resolved", "SENT")]
    )
    kinds = [
        a.kind
        for a in await webhook_arrivals(pipeline, "acme")
        if a.alert_id == still_open.alert_id
    ]
    assert kinds == ["firing", "resolved"]


def every_day(zone: str, start_h: int, end_h: int) -> dict[str, Any]:
    """A weekly range of every day, from ``start_h`` to ``end_h`` hours from now on the
    zone's wall clock (past midnight when it has to: an end before the start)."""
    local = datetime.now(ZoneInfo(zone))
    start, end = local + timedelta(hours=start_h), local + timedelta(hours=end_h)
    end_text = f"{end:%H:%M}"
    return {
        "days": DAYS,
        "start": f"{start:%H:%M}",
        "end": "24:00" if end_text == "00:00" else end_text,
    }


async def test_a_weekly_window_in_another_zone_suppresses_inside_only(
    pipeline: Pipeline, unique: str
) -> None:
    await pipeline.start()
    acme = await pipeline.create_tenant(
        f"acme-{unique}",
        rules=[("*", "backup", "*")],
        endpoints=[("webhook", f"{pipeline.hook_base}/acme")],
        wait=10,
    )
    # Kathmandu is UTC+05:45, St. John's UTC-03:30 or -02:30: neither is the box's zone.
    inside = await create_silence(
        pipeline,
        acme,
        matchers=[equal("name", "late")],
        schedule={"time_zone": "Asia/Kathmandu", "ranges": [every_day("Asia/Kathmandu", -1, 1)]},
        comment="nightly backup",
    )
    assert inside["state"] == "active"
    outside = await create_silence(
        pipeline,
        acme,
        matchers=[equal("name", "slow")],
        schedule={"time_zone": "America/St_Johns", "ranges": [every_day("America/St_Johns", 2, 3)]},
    )
    assert outside["state"] != "active"

    late = Source(pipeline, f"late-{unique}", source="backup", name="late")
    slow = Source(pipeline, f"slow-{unique}", source="backup", name="slow")
    await late.fire()
    await slow.fire()
    await pipeline.wait_matches_consumed(2)
    rows = await wait_statuses(pipeline, acme, late.alert_id, [("firing", "SUPPRESSED")])
    assert rows[0]["silence_id"] == inside["silence_id"]
    await wait_statuses(pipeline, acme, slow.alert_id, [("firing", "SENT")])
    assert [a.alert_id for a in await webhook_arrivals(pipeline, "acme")] == [slow.alert_id]

    # /match names the window that mutes a sample alert now, not the other one.
    match = await pipeline.api(
        "POST",
        "/api/v1/match",
        acme.token,
        json={"severity": "HIGH", "source": "backup", "name": "late"},
    )
    assert [s["silence_id"] for s in match["silences"]] == [inside["silence_id"]]
