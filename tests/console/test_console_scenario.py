"""Issue 17's "Done when" scenario, in order, through the console in a real browser:
an admin sets up a client, its key, a rule and a webhook endpoint; the client's key sees
only its client; an alert's notification arrives with its attempt; a failing receiver
gives FAILED, fixed and re-driven from the console it is SENT; a silence made from an
alert mutes the next one (SUPPRESSED); a load job started and cancelled while the
pipeline chart moves. The API is called only to read state back, to post the alerts
(ingest, as a monitoring system would) and to script the receiver.

Then alert text that looks like markup, where test_notifications.py does not look: the
match tester and the silence made from such an alert (prefill, detail, list)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.console.browser import PHONE
from tests.console.console import WAIT_MS, Console
from tests.e2e.pipeline import Pipeline

pytestmark = pytest.mark.e2e

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_CONTEXT = "<script>alert(2)</script>"
# The throughput chart's number of samples drawn (pipeline.js sets data-points).
CHART_POINTS = """() => Number(document.querySelector('[data-chart="throughput"]')
  ?.getAttribute("data-points") ?? 0)"""


@pytest.fixture
def console_settings() -> dict[str, str]:
    # A failing receiver gives up after two attempts, so FAILED comes within the wait.
    return {"ALERTING_SENDER_MAX_ATTEMPTS": "2"}


def alert(alert_id: str, name: str, **context: str) -> dict[str, Any]:
    return {
        "alert_id": alert_id,
        "severity": "HIGH",
        "source": "db",
        "name": name,
        "context": {"host": "db1", **context},
    }


async def script_receiver(pipeline: Pipeline, hook: str, statuses: list[int]) -> None:
    """The webhook sink answers these statuses first, then 200 (an empty list: fixed)."""
    response = await pipeline.http.put(
        f"{pipeline.sinks.url}/script/{hook}", json={"statuses": statuses}
    )
    assert response.status_code < 300, response.text


async def status_of(pipeline: Pipeline, alert_id: str) -> list[str]:
    return [r["status"] for r in await pipeline.notifications() if r["alert_id"] == alert_id]


def row_of(page: Page, name: str, status: str) -> Any:
    """The notifications list's row of the alert ``name`` in ``status``."""
    return (
        page.get_by_role("row")
        .filter(has_text=name)
        .filter(has=page.get_by_text(status, exact=True))
    )


async def test_the_operator_scenario(console: Console) -> None:
    page, pipeline = console.page, console.pipeline
    hook = f"{pipeline.hook_base}/scenario"
    # Another client, so that "sees only its own client" has something to hide.
    await pipeline.api("POST", "/api/v1/clients", json={"client_id": "other", "name": "Other"})

    # 1. Admin: a client and its key.
    await console.sign_in(console.admin_token)
    await expect(page.get_by_test_id("who")).to_have_text("Signed in as admin")
    await console.view("Clients & keys")
    await page.get_by_label("Client id").fill("acme")
    await page.get_by_label("Name").fill("Acme Corp")
    await page.get_by_role("button", name="Create client").click()
    await expect(page).to_have_url(f"{console.url}/clients/acme")
    await page.get_by_label("Description").fill("on-call console")
    await page.get_by_role("button", name="Issue key").click()
    token = (await page.get_by_test_id("secret-value").inner_text()).strip()
    await console.shot("scenario-01-client-and-key")
    await page.get_by_role("button", name="Done").click()
    await expect(page.get_by_test_id("secret-value")).to_have_count(0)
    assert (await pipeline.api("GET", "/api/v1/clients/acme"))["name"] == "Acme Corp"

    # 2. A rule for acme (HIGH / db / *), live in the evaluator.
    await console.view("Rules")
    form = page.get_by_role("form", name="Create a rule")
    await form.get_by_label("Client", exact=True).select_option("acme")
    await form.get_by_label("Severity").select_option("HIGH")
    await form.get_by_label("Source").fill("db")
    await form.get_by_label("Name").fill("*")
    await form.get_by_role("button", name="Create rule").click()
    notice = form.get_by_role("status")
    await expect(notice).to_contain_text("live", timeout=WAIT_MS)
    await expect(notice).not_to_contain_text("not live")
    [rule] = await pipeline.listed("/api/v1/rules", client_id="acme")
    assert (rule["severity"], rule["source"], rule["name"], rule["live"]) == (
        "HIGH", "db", "*", True,
    )  # fmt: skip
    await console.shot("scenario-02-rule")

    # 3. Its webhook endpoint, to the sink, from the rule's page.
    await page.get_by_role("link", name="Open rule HIGH db *").click()
    await expect(page).to_have_url(f"{console.url}/rules/{rule['rule_id']}")
    await expect(page.get_by_text("This rule has no endpoints yet")).to_be_visible()
    await page.get_by_label("Webhook URL").fill(hook)
    await page.get_by_role("button", name="Add endpoint").click()
    await expect(page.get_by_test_id("secret-value")).to_contain_text("whsec_")
    await page.get_by_role("button", name="Done").click()
    endpoint_row = page.get_by_role("row").filter(has_text=hook)
    await expect(endpoint_row).to_contain_text("enabled")
    [endpoint] = await pipeline.listed(f"/api/v1/rules/{rule['rule_id']}/endpoints")
    assert (endpoint["type"], endpoint["value"]) == ("webhook", hook)
    await console.shot("scenario-03-rule-and-endpoint")

    # 4. The client's key: who it is, and only its own client.
    await console.sign_out()
    await console.sign_in(token)
    await expect(page.get_by_test_id("who")).to_contain_text("client acme")
    await console.view("Clients & keys")
    await expect(page.get_by_role("link", name="acme", exact=True)).to_be_visible()
    await expect(page.get_by_role("link", name="other", exact=True)).to_have_count(0)
    nav = page.get_by_role("navigation", name="Views")
    await expect(nav.get_by_role("link", name="Pipeline")).to_have_count(0)
    await console.shot("scenario-04-client-key")

    # 5. An alert: its notification arrives SENT, with its attempt (HTTP 200).
    await pipeline.post_alerts([alert("scenario-1", "disk_full")])
    await console.view("Notifications")
    sent = row_of(page, "disk_full", "SENT")
    await expect(sent).to_have_count(1, timeout=WAIT_MS)
    await console.shot("scenario-05-notifications")
    await sent.get_by_role("link").click()
    await expect(page).to_have_url(re.compile(f"/ui/notifications/{UUID}$"))
    attempts = page.get_by_role("table", name="Attempts")
    await expect(attempts.get_by_role("row").filter(has_text="200")).to_have_count(
        1, timeout=WAIT_MS
    )
    await expect(page.get_by_role("table", name="Alert context")).to_contain_text("db1")
    await console.shot("scenario-06-notification-sent")
    assert len(await pipeline.received("scenario")) == 1

    # 6. The receiver fails: both attempts get 500 and the notification is FAILED.
    await script_receiver(pipeline, "scenario", [500] * 10)
    await pipeline.post_alerts([alert("scenario-2", "cpu_hot")])
    await console.view("Notifications")
    await page.get_by_label("Status").select_option("FAILED")
    await expect(page).to_have_url(f"{console.url}/notifications?status=FAILED")
    failed = row_of(page, "cpu_hot", "FAILED")
    await expect(failed).to_have_count(1, timeout=WAIT_MS)
    await console.shot("scenario-07-failed")
    await failed.get_by_role("link").click()
    await expect(attempts.get_by_role("row").filter(has_text="500")).to_have_count(2)
    assert await status_of(pipeline, "scenario-2") == ["FAILED"]

    # 7. Fixed, re-driven from the detail: SENT, with a 200 after the two 500s.
    await script_receiver(pipeline, "scenario", [])
    await page.get_by_role("button", name="Re-drive").click()
    fields = page.get_by_role("table", name="Alert fields")
    await expect(fields.get_by_text("SENT", exact=True)).to_be_visible(timeout=WAIT_MS)
    await expect(attempts.get_by_role("row").filter(has_text="200")).to_have_count(1)
    await expect(attempts.get_by_role("row").filter(has_text="500")).to_have_count(2)
    await expect(page.get_by_role("button", name="Re-drive")).to_have_count(0)
    await console.shot("scenario-08-redriven")
    assert await status_of(pipeline, "scenario-2") == ["SENT"]
    # The sink records every request: the first alert's, two 500s and the re-drive's.
    assert len(await pipeline.received("scenario")) == 4

    # 8. A silence from this alert (prefilled matchers); the next such alert is muted.
    await page.get_by_role("link", name="Silence this alert").click()
    await expect(page).to_have_url(re.compile(r"/ui/silences/new\?.*alert_id=scenario-2"))
    for i, (field, value) in enumerate(
        [("severity", "HIGH"), ("source", "db"), ("name", "cpu_hot")], start=1
    ):
        await expect(page.get_by_label(f"Matcher {i} field")).to_have_value(field)
        await expect(page.get_by_label(f"Matcher {i} value")).to_have_value(value)
    await console.shot("scenario-09-silence-from-alert")
    await page.get_by_role("button", name="Create silence").click()
    await expect(page).to_have_url(re.compile(f"/ui/silences/{UUID}$"))
    silence_id = page.url.rsplit("/", 1)[1]
    silence = await pipeline.api("GET", f"/api/v1/silences/{silence_id}", token)
    assert silence["state"] == "active" and silence["client_id"] == "acme", silence

    await pipeline.post_alerts([alert("scenario-3", "cpu_hot")])
    await console.open("/notifications?status=SUPPRESSED")
    suppressed = row_of(page, "cpu_hot", "SUPPRESSED")
    await expect(suppressed).to_have_count(1, timeout=WAIT_MS)
    await console.shot("scenario-10-suppressed")
    await suppressed.get_by_role("link").click()
    await expect(
        page.get_by_role("table", name="Alert fields").get_by_text("SUPPRESSED", exact=True)
    ).to_be_visible()
    [muted] = [r for r in await pipeline.notifications() if r["alert_id"] == "scenario-3"]
    assert muted["status"] == "SUPPRESSED"
    assert len(await pipeline.received("scenario")) == 4  # nothing more was sent

    # The silence's page lists what it suppressed.
    await console.open(f"/silences/{silence_id}")
    region = page.get_by_role("region", name="Notifications it suppressed")
    await expect(region.get_by_role("link", name="scenario-3")).to_be_visible(timeout=WAIT_MS)
    await console.shot("scenario-11-silence")

    # 9. Admin: a load job started, the pipeline chart moving, the job cancelled.
    await console.sign_out()
    await console.sign_in(console.admin_token)
    await console.view("Load generator")
    await page.get_by_label("Rate (alerts/s)").fill("200")
    await page.get_by_label("Count").fill("100000")
    await page.get_by_label("Seed").fill("17")
    # A source no rule matches: the load exercises ingest and the evaluator only.
    await page.get_by_role("button", name="Add source").click()
    await page.get_by_label("Source #1", exact=True).fill("loadgen-scenario")
    await page.get_by_role("button", name="Start job").click()
    await expect(page).to_have_url(re.compile(r"/ui/loadgen/[0-9a-f-]{36}$"))
    job_url = page.url
    job_id = job_url.rsplit("/", 1)[1]
    await expect(page.get_by_test_id("job-state")).to_have_text("running")

    await console.view("Pipeline")
    await page.wait_for_function(f"() => ({CHART_POINTS})() >= 1", timeout=WAIT_MS)
    before = await page.evaluate(CHART_POINTS)
    # The chart moves: it gains samples while the job runs, without a reload.
    await page.wait_for_function(f"n => ({CHART_POINTS})() >= n", arg=before + 2, timeout=WAIT_MS)
    await console.shot("scenario-12-pipeline")

    await page.go_back()
    await expect(page).to_have_url(job_url)
    await expect(page.get_by_test_id("job-state")).to_have_text("running")
    await page.get_by_role("button", name="Cancel job").click()
    await expect(page.get_by_test_id("job-state")).to_have_text("cancelled")
    jobs = page.get_by_role("table", name="Jobs")
    await expect(jobs.get_by_role("row").filter(has_text=job_id[:8])).to_contain_text("cancelled")
    await console.shot("scenario-13-loadgen-cancelled")
    answer = await pipeline.http.get(
        f"{pipeline.url('ingest')}/api/v1/loadgen/jobs/{job_id}", headers=pipeline.admin
    )
    job = answer.json()
    assert job["state"] == "cancelled" and 0 < job["sent"] < 100000, job

    # The notifications view at a phone's width, as the admin sees it.
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await console.open("/notifications?client_id=acme")
    await expect(row_of(page, "cpu_hot", "SUPPRESSED")).to_have_count(1)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, width
    await console.shot("scenario-14-phone-notifications")


async def test_markup_in_alert_text_stays_text_in_the_tester_and_the_silence(
    console: Console,
) -> None:
    """test_notifications.py covers the list and the detail; here: a rule and a silence
    whose text is markup, shown by the match tester, and a silence made from the
    detail of an alert whose name and context are markup."""
    page, pipeline = console.page, console.pipeline
    view = page.locator("#view")
    tenant = await pipeline.create_tenant("acme", [("HIGH", "db", XSS_NAME)], [], wait=10)
    await pipeline.post_alerts([alert("xss-1", XSS_NAME, x=XSS_CONTEXT)])
    await console.sign_in(tenant.token)

    # The match tester, the name typed in: the rule named so is listed as text.
    await console.view("Match tester")
    form = page.get_by_role("form", name="Sample alert")
    await form.get_by_label("Severity").select_option("HIGH")
    await form.get_by_label("Source").fill("db")
    await form.get_by_label("Name").fill(XSS_NAME)
    await form.get_by_role("button", name="Add context entry").click()
    await form.get_by_label("Context key 1").fill("x")
    await form.get_by_label("Context value 1").fill(XSS_CONTEXT)
    await form.get_by_role("button", name="Test").click()
    rules = page.get_by_role("table", name="Matching rules")
    await expect(rules.get_by_role("link", name=f"Rule HIGH / db / {XSS_NAME}")).to_be_visible()
    await expect(form.get_by_label("Name")).to_have_value(XSS_NAME)
    await expect(view.locator("img, script")).to_have_count(0)
    # A reload reads the markup back from the URL, still as text.
    await page.reload()
    await expect(rules.get_by_role("link", name=f"Rule HIGH / db / {XSS_NAME}")).to_be_visible()
    await expect(form.get_by_label("Context value 1")).to_have_value(XSS_CONTEXT)
    await expect(view.locator("img, script")).to_have_count(0)
    await console.shot("scenario-xss-match")

    # "Silence this alert" from its detail: the prefill holds the name as typed text.
    await console.open("/notifications")
    await view.get_by_role("link", name=XSS_NAME).click()
    await page.get_by_role("link", name="Silence this alert").click()
    await expect(page.get_by_label("Matcher 3 field")).to_have_value("name")
    await expect(page.get_by_label("Matcher 3 value")).to_have_value(XSS_NAME)
    await page.get_by_label("Comment").fill(f"muted {XSS_CONTEXT}")
    await expect(view.locator("img, script")).to_have_count(0)
    await page.get_by_role("button", name="Create silence").click()
    await expect(page).to_have_url(re.compile(f"/ui/silences/{UUID}$"))
    silence_id = page.url.rsplit("/", 1)[1]
    await expect(view.get_by_text(XSS_NAME).first).to_be_visible()
    await expect(view.get_by_text(f"muted {XSS_CONTEXT}").first).to_be_visible()
    await expect(view.locator("img, script")).to_have_count(0)
    stored = await pipeline.api("GET", f"/api/v1/silences/{silence_id}", tenant.token)
    assert [m["value"] for m in stored["matchers"]] == ["HIGH", "db", XSS_NAME]

    # The silences list and the match tester's "muting silences" show it as text too.
    await console.view("Silences")
    await expect(view.get_by_text(XSS_NAME).first).to_be_visible()
    await expect(view.locator("img, script")).to_have_count(0)
    await console.open(
        "/match?severity=HIGH&source=db&name=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"
    )
    muting = page.get_by_role("table", name="Muting silences")
    await expect(muting.get_by_text(f"muted {XSS_CONTEXT}", exact=True)).to_be_visible()
    await expect(view.locator("img, script")).to_have_count(0)
    assert console.unexpected_dialogs() == []
