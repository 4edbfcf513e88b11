"""The silences view in a real browser: a silence created from an alert's prefilled URL
mutes the next firing (SUPPRESSED with its id, nothing at the sink) and expiring it in
the console delivers the open episode; a weekly maintenance window in a named zone; a
regex the API refuses is shown at its matcher."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.console.browser import PHONE
from tests.console.console import WAIT_MS, Console
from tests.e2e.lifecycle import Source, wait_rows, webhook_arrivals

pytestmark = pytest.mark.e2e

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


async def test_a_silence_from_an_alert_suppresses_and_expiring_it_delivers(
    console: Console, unique: str
) -> None:
    page, pipeline = console.page, console.pipeline
    acme = await pipeline.create_tenant(
        f"acme-{unique}",
        rules=[("*", "db", "*")],
        endpoints=[("webhook", f"{pipeline.hook_base}/acme")],
        wait=10,
    )
    await console.sign_in(console.admin_token)
    alert = Source(pipeline, f"disk-{unique}", severity="HIGH", source="db", name="disk_full")
    await console.open(
        f"/silences/new?client_id={acme.client_id}&severity=HIGH&source=db"
        f"&name=disk_full&alert_id={alert.alert_id}"
    )
    # One `=` matcher per field of the alert, the alert noted in the comment.
    for i, (field, value) in enumerate([("severity", "HIGH"), ("source", "db"),
                                        ("name", "disk_full")], start=1):  # fmt: skip
        await expect(page.get_by_label(f"Matcher {i} field")).to_have_value(field)
        await expect(page.get_by_label(f"Matcher {i} operator")).to_have_value("=")
        await expect(page.get_by_label(f"Matcher {i} value")).to_have_value(value)
    await expect(page.get_by_label("Client")).to_have_value(acme.client_id)
    await expect(page.get_by_label("Comment")).to_have_value(re.compile(alert.alert_id))
    await expect(page.get_by_test_id("utc-preview")).to_contain_text("Z")
    await console.shot("silence-new")
    await page.get_by_role("button", name="Create silence").click()
    await expect(page).to_have_url(re.compile(f"/ui/silences/{UUID}$"))
    silence_id = page.url.rsplit("/", 1)[1]
    await expect(page.get_by_role("heading", name=re.compile("Silence"))).to_be_visible()

    stored = await pipeline.api("GET", f"/api/v1/silences/{silence_id}", acme.token)
    assert stored["state"] == "active" and stored["live"] is True, stored
    assert [(m["name"], m["op"], m["value"]) for m in stored["matchers"]] == [
        ("severity", "=", "HIGH"), ("source", "=", "db"), ("name", "=", "disk_full")
    ]  # fmt: skip
    assert alert.alert_id in stored["comment"] and stored["created_by"] == "admin"

    await alert.fire()
    rows = await wait_rows(pipeline, acme.token, alert.alert_id, [("firing", "SUPPRESSED")])
    assert rows[0]["silence_id"] == silence_id
    assert await webhook_arrivals(pipeline, "acme") == []

    # The detail lists what it suppressed; the list shows it with its state.
    await page.reload()
    suppressed = page.get_by_role("region", name="Notifications it suppressed")
    await expect(suppressed.get_by_role("link", name=alert.alert_id)).to_be_visible()
    await expect(
        suppressed.get_by_role("link", name=f"All SUPPRESSED notifications of {acme.client_id}")
    ).to_have_attribute("href", f"/ui/notifications?status=SUPPRESSED&client_id={acme.client_id}")
    await console.shot("silence-detail")
    await console.open(f"/silences?client_id={acme.client_id}&state=active")
    await expect(page.get_by_label("State")).to_have_value("active")
    row = page.get_by_role("row").filter(has_text="disk_full")
    await expect(row).to_contain_text("active")
    await expect(row).to_contain_text("admin")
    await console.shot("silences")

    await row.get_by_role("link").click()
    await expect(page).to_have_url(re.compile(f"/ui/silences/{silence_id}$"))
    await page.get_by_role("button", name="Expire").click()
    await expect(page.get_by_role("button", name="Expire")).to_have_count(0)
    await expect(page.get_by_text("expired", exact=True)).to_be_visible()
    assert any(d.startswith("confirm:") for d in console.dialogs)
    assert (await pipeline.api("GET", f"/api/v1/silences/{silence_id}"))["state"] == "expired"
    # The still-open episode is released and delivered.
    await wait_rows(pipeline, acme.token, alert.alert_id, [("firing", "SENT")])
    assert [a.alert_id for a in await webhook_arrivals(pipeline, "acme")] == [alert.alert_id]
    # An expired silence leaves the active filter.
    await console.open(f"/silences?client_id={acme.client_id}&state=active")
    await expect(page.get_by_text("No silences match.")).to_be_visible()


async def test_a_maintenance_window_in_a_named_zone(console: Console, unique: str) -> None:
    page, pipeline = console.page, console.pipeline
    acme = await pipeline.create_tenant(f"acme-{unique}", rules=[], endpoints=[])
    await console.sign_in(acme.token)
    await console.view("Silences")
    await expect(page.get_by_text("No silences match.")).to_be_visible()
    await page.get_by_role("link", name="New silence").click()
    await expect(page.get_by_role("heading", name="New silence")).to_be_visible()
    await page.get_by_label("Matcher 1 field").fill("context.region")
    await page.get_by_label("Matcher 1 operator").select_option("=~")
    await page.get_by_label("Matcher 1 value").fill("eu-.*")
    await page.get_by_role("button", name="Add matcher").click()
    await page.get_by_label("Matcher 2 field").fill("source")
    await page.get_by_label("Matcher 2 value").fill("db")
    await page.get_by_label("Maintenance window").check()
    await page.get_by_label("Time zone").select_option("Europe/Berlin")
    await page.get_by_label("Range 1 sat").check()
    await page.get_by_label("Range 1 sun").check()
    await page.get_by_label("Range 1 from").fill("02:00")
    await page.get_by_label("Range 1 to").fill("00:00")  # midnight: sent as 24:00
    await page.get_by_label("Comment").fill("weekend patching")
    await console.shot("silence-new-window")
    await page.get_by_role("button", name="Create silence").click()
    await expect(page).to_have_url(re.compile(f"/ui/silences/{UUID}$"))
    await expect(page.get_by_role("heading", name=re.compile("Maintenance window"))).to_be_visible()
    await expect(page.get_by_text("in Europe/Berlin")).to_be_visible()

    (stored,) = await pipeline.listed("/api/v1/silences", acme.token)
    assert stored["schedule"] == {
        "time_zone": "Europe/Berlin",
        "ranges": [{"days": ["sat", "sun"], "start": "02:00", "end": "24:00"}],
    }
    assert stored["ends_at"] is None and stored["comment"] == "weekend patching"
    assert stored["created_by"].startswith("key:")
    assert [(m["name"], m["op"], m["value"]) for m in stored["matchers"]] == [
        ("context.region", "=~", "eu-.*"), ("source", "=", "db")
    ]  # fmt: skip

    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await console.view("Silences")
    row = page.get_by_role("row").filter(has_text="sat,sun 02:00\N{EN DASH}24:00 (Europe/Berlin)")
    await expect(row).to_contain_text("window")
    await console.shot("phone-silences")


async def test_a_regex_the_api_refuses_is_shown_at_its_matcher(
    console: Console, unique: str
) -> None:
    page, pipeline = console.page, console.pipeline
    acme = await pipeline.create_tenant(f"acme-{unique}", rules=[], endpoints=[])
    await console.sign_in(console.admin_token)
    await console.open(f"/silences/new?client_id={acme.client_id}&source=db")
    await expect(page.get_by_label("Matcher 1 value")).to_have_value("db")
    await page.get_by_role("button", name="Add matcher").click()
    await page.get_by_label("Matcher 2 field").fill("name")
    await page.get_by_label("Matcher 2 operator").select_option("=~")
    await page.get_by_label("Matcher 2 value").fill("disk_(")
    await page.get_by_role("button", name="Create silence").click()

    bad = page.get_by_label("Matcher 2 value")
    await expect(bad).to_have_attribute("aria-invalid", "true", timeout=WAIT_MS)
    message = page.locator(f"#{await bad.get_attribute('aria-describedby')}")
    await expect(message).to_contain_text("not a valid RE2 regex")
    await expect(page.get_by_role("alert")).to_contain_text("422")
    await expect(page.get_by_label("Matcher 1 value")).not_to_have_attribute("aria-invalid", "true")
    assert await pipeline.listed("/api/v1/silences", acme.token) == []

    # Fixed as typed, it goes through.
    await bad.fill("disk_.*")
    await page.get_by_role("button", name="Create silence").click()
    await expect(page).to_have_url(re.compile(f"/ui/silences/{UUID}$"))
    assert len(await pipeline.listed("/api/v1/silences", acme.token)) == 1
