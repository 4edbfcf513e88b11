"""The notifications view in a real browser: a webhook that fails shows FAILED with its
500 attempts, a re-drive from the detail goes through to SENT with a 200 attempt, the
bulk re-drive of a filter, and alert text that looks like markup stays text."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.console.browser import PHONE
from tests.console.console import WAIT_MS, Console
from tests.e2e.pipeline import Pipeline
from tests.pipeline_support import eventually

pytestmark = pytest.mark.e2e
XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_CONTEXT = "<script>alert(2)</script>"


@pytest.fixture
def console_settings() -> dict[str, str]:
    # A retry waits 3 to 6 s, not the pipeline tests' 100-1,000 ms: the detail's test
    # below must see a re-driven notification in RETRY while its answers take 1.5 s each
    # (a state shorter than a poll and an answer can be missed however the console
    # works; with 1,500 ms the first retry waited 0.75-1.5 s, and a CI run missed it).
    return {
        "ALERTING_SENDER_MAX_ATTEMPTS": "2",
        "ALERTING_SENDER_BACKOFF_BASE_MS": "6000",
        "ALERTING_SENDER_BACKOFF_MAX_MS": "12000",
    }


async def failing_tenant(pipeline: Pipeline, hook: str, failures: int) -> str:
    """Client acme with a rule for HIGH/db/* whose webhook answers ``failures`` 500s
    first; its key's token."""
    tenant = await pipeline.create_tenant(
        "acme", [("HIGH", "db", "*")], [("webhook", f"{pipeline.hook_base}/{hook}")]
    )
    await pipeline.wait_rules_live(1)
    await pipeline.http.put(
        f"{pipeline.sinks.url}/script/{hook}", json={"statuses": [500] * failures}
    )
    return tenant.token


async def statuses(pipeline: Pipeline) -> list[str]:
    return sorted(r["status"] for r in await pipeline.notifications())


async def test_failed_then_redriven_from_the_detail(console: Console) -> None:
    page, pipeline = console.page, console.pipeline
    token = await failing_tenant(pipeline, "flaky", failures=3)
    await pipeline.post_alerts(
        [{"severity": "HIGH", "source": "db", "name": "disk_full", "context": {"host": "db1"}}]
    )
    await console.sign_in(token)
    await console.view("Notifications")
    row = page.get_by_role("row").filter(has_text="disk_full")
    await expect(row.get_by_text("FAILED", exact=True)).to_be_visible(timeout=WAIT_MS)
    await page.get_by_label("Status").select_option("FAILED")
    await expect(page).to_have_url(f"{console.url}/notifications?status=FAILED")
    await expect(row).to_have_count(1)
    await console.shot("notifications")

    await row.get_by_role("link").click()
    attempts = page.get_by_role("table", name="Attempts")
    await expect(attempts.get_by_role("row").filter(has_text="500")).to_have_count(2)
    await expect(page.get_by_role("table", name="Alert context")).to_contain_text("db1")
    silence = page.get_by_role("link", name="Silence this alert")
    assert "/ui/silences/new?client_id=acme&severity=HIGH&source=db&name=disk_full&alert_id=" in (
        await silence.get_attribute("href") or ""
    )
    # The sink still fails once: the re-drive's first call gets 500, the second 200.
    await page.get_by_role("button", name="Re-drive").click()
    fields = page.get_by_role("table", name="Alert fields")
    await expect(fields.get_by_text("SENT", exact=True)).to_be_visible(timeout=WAIT_MS)
    await expect(attempts.get_by_role("row").filter(has_text="200")).to_have_count(1)
    await expect(attempts.get_by_role("row").filter(has_text="500")).to_have_count(3)
    deliveries = page.get_by_role("table", name="Deliveries")
    await expect(deliveries.get_by_text("SENT", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="Re-drive")).to_have_count(0)
    assert await statuses(pipeline) == ["SENT"]
    assert len(await pipeline.received("flaky")) >= 1
    await console.shot("notification-detail")

    await page.reload()  # the detail is a shareable URL
    await expect(fields.get_by_text("disk_full", exact=True)).to_be_visible()


async def test_bulk_redrive_of_a_filter(console: Console) -> None:
    page, pipeline = console.page, console.pipeline
    await failing_tenant(pipeline, "down", failures=4)  # two alerts x two attempts
    alert = {"severity": "HIGH", "source": "db"}
    await pipeline.post_alerts([{**alert, "name": "disk_full"}, {**alert, "name": "cpu_hot"}])

    async def both_failed() -> bool:
        return await statuses(pipeline) == ["FAILED", "FAILED"]

    await eventually(both_failed, what="two FAILED notifications")
    await console.sign_in(console.admin_token)
    await console.open("/notifications?client_id=acme&kind=firing")
    await expect(page.get_by_label("Client")).to_have_value("acme")
    await expect(page.get_by_label("Kind")).to_have_value("firing")
    await expect(page.get_by_role("row").filter(has_text="FAILED")).to_have_count(2)
    # A window that ends before the alerts: nothing matches, nothing is re-driven.
    await page.get_by_label("Created before").fill("2020-01-01T00:00")
    await expect(page).to_have_url(re.compile(r"until=20(19|20)-"))
    await expect(page.get_by_text("No notifications match this filter.")).to_be_visible()
    redrive_all = page.get_by_role("button", name="Re-drive all FAILED matching this filter")
    result = page.get_by_test_id("bulk-result")
    await redrive_all.click()
    await expect(result).to_have_text("Re-drove 0 FAILED notifications.")
    assert await statuses(pipeline) == ["FAILED", "FAILED"]

    await page.get_by_label("Created before").fill("")
    await expect(page.get_by_role("row").filter(has_text="FAILED")).to_have_count(2)
    await redrive_all.click()
    await expect(result).to_have_text("Re-drove 2 FAILED notifications.")
    sent = page.get_by_role("row").filter(has=page.get_by_text("SENT", exact=True))
    await expect(sent).to_have_count(2, timeout=WAIT_MS)
    assert await statuses(pipeline) == ["SENT", "SENT"]
    # The confirmation names the scope the operator is about to re-drive.
    assert any(d.startswith("confirm:") and "client acme" in d for d in console.dialogs)
    # Under another status the list shows no FAILED rows: re-driving them is not offered.
    await page.get_by_label("Status").select_option("SENT")
    await expect(redrive_all).to_be_disabled()
    await page.get_by_label("Status").select_option("FAILED")
    await expect(redrive_all).to_be_enabled()


async def test_alert_text_that_looks_like_markup_stays_text(console: Console) -> None:
    page, pipeline = console.page, console.pipeline
    tenant = await pipeline.create_tenant("acme", [("HIGH", "db", "*")], [])
    await pipeline.wait_rules_live(1)
    await pipeline.post_alerts(
        [{"severity": "HIGH", "source": "db", "name": XSS_NAME, "context": {"x": XSS_CONTEXT}}]
    )
    await console.sign_in(tenant.token)
    await console.open("/notifications")
    view = page.locator("#view")
    await expect(view.get_by_text(XSS_NAME, exact=True)).to_be_visible(timeout=WAIT_MS)
    await expect(view.locator("img, script")).to_have_count(0)

    await view.get_by_role("link", name=XSS_NAME).click()
    context = page.get_by_role("table", name="Alert context")
    await expect(context.get_by_text(XSS_CONTEXT, exact=True)).to_be_visible()
    fields = page.get_by_role("table", name="Alert fields")
    await expect(fields.get_by_text(XSS_NAME, exact=True)).to_be_visible()
    await expect(view.locator("img, script")).to_have_count(0)
    assert console.unexpected_dialogs() == []


async def test_phone_width_detail_is_readable(console: Console) -> None:
    page, pipeline = console.page, console.pipeline
    await pipeline.create_tenant("acme", [("HIGH", "db", "*")], [])
    await pipeline.wait_rules_live(1)
    await pipeline.post_alerts([{"severity": "HIGH", "source": "db", "name": "disk_full"}])
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await console.sign_in(console.admin_token)
    await console.open("/notifications")
    await page.get_by_role("link", name="disk_full").click()
    await expect(page.get_by_role("link", name="Silence this alert")).to_be_in_viewport()
    await expect(page.get_by_text("No delivery attempts yet.")).to_be_visible()
    found: Any = await page.evaluate("document.documentElement.scrollWidth")
    assert found <= PHONE["width"] + 1, found
    await console.shot("notification-detail-phone")

    # A notification that is not there (or another client's): the API's 404, shown.
    await console.open("/notifications/00000000-0000-0000-0000-000000000000")
    await expect(page.get_by_role("alert")).to_contain_text("404")


DETAIL_API = re.compile(r"/api/v1/notifications/[0-9a-f-]{36}$")


async def test_the_detail_polls_one_slow_request_at_a_time(console: Console) -> None:
    """The detail refreshes while the sender works on a re-driven notification. Its
    answers here take 1.5 s, longer than the 1 s poll: every answer is still shown (the
    next request waits for it instead of discarding it), never two requests at a time;
    a hidden tab does not poll; a final notification is not polled any more. The row of
    the notification shown is marked aria-current (a <tr> is not selectable)."""
    page, pipeline = console.page, console.pipeline
    token = await failing_tenant(pipeline, "down", failures=4)  # two attempts, twice
    await pipeline.post_alerts([{"severity": "HIGH", "source": "db", "name": "disk_full"}])

    async def failed() -> bool:
        return await statuses(pipeline) == ["FAILED"]

    await eventually(failed, what="a FAILED notification")
    await console.sign_in(token)
    await console.open("/notifications?status=FAILED")
    await page.get_by_role("link", name="disk_full").click()
    fields = page.get_by_role("table", name="Alert fields")
    await expect(fields.get_by_text("FAILED", exact=True)).to_be_visible(timeout=WAIT_MS)
    episode = page.get_by_role("table", name="Episode")
    await expect(episode.locator('tr[aria-current="true"]')).to_have_count(1)
    await expect(episode.locator("tr[aria-selected]")).to_have_count(0)

    calls = {"started": 0, "in_flight": 0, "most": 0}

    async def slow(route: Any) -> None:
        calls["started"] += 1
        calls["in_flight"] += 1
        calls["most"] = max(calls["most"], calls["in_flight"])
        try:
            response = await route.fetch()
            await asyncio.sleep(1.5)  # a slow rule-service, not a wait of the test
            await route.fulfill(response=response)
        finally:
            calls["in_flight"] -= 1

    await page.route(DETAIL_API, slow)
    await page.get_by_role("button", name="Re-drive").click()
    await expect(fields.get_by_text("RETRY", exact=True)).to_be_visible(timeout=WAIT_MS)

    # Hidden: the request in flight ends, and no other starts.
    await page.evaluate(
        "Object.defineProperty(document, 'hidden', {value: true, configurable: true});"
        " document.dispatchEvent(new Event('visibilitychange'))"
    )

    async def idle() -> bool:
        return calls["in_flight"] == 0

    await eventually(idle, what="no request in flight")
    while_hidden = calls["started"]
    await page.wait_for_timeout(2500)  # more than two poll periods
    assert calls["started"] == while_hidden

    await page.evaluate(
        "Object.defineProperty(document, 'hidden', {value: false, configurable: true});"
        " document.dispatchEvent(new Event('visibilitychange'))"
    )
    # The sink fails both attempts again: FAILED once more, each slow answer shown.
    await expect(fields.get_by_text("FAILED", exact=True)).to_be_visible(timeout=WAIT_MS)
    attempts = page.get_by_role("table", name="Attempts")
    await expect(attempts.get_by_role("row").filter(has_text="500")).to_have_count(4)
    assert calls["most"] == 1, calls
    await eventually(idle, what="no request in flight")
    final = calls["started"]
    await page.wait_for_timeout(2500)
    assert calls["started"] == final  # final: not polled any more
    assert await statuses(pipeline) == ["FAILED"]
