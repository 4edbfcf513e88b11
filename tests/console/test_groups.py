"""Grouping in a real browser (docs/grouping.md): a rule's grouping editor (set a policy,
see it in the rules list, the API's 422 on the field it names, remove it), and the
Groups view over a group made by real alerts flowing through the platform to the
webhook sink: its digest, the digest's members, the way back from a notification, and
GROUPED as a notifications filter. Label values and alert names carry markup, which must
stay text."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.console.console import WAIT_MS, Console
from tests.e2e.pipeline import Pipeline
from tests.pipeline_support import eventually

pytestmark = pytest.mark.e2e
XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_LABEL = "<b>eu</b>"


def grouping_form(page: Page) -> Any:
    return page.get_by_role("form", name="Grouping")


async def stored_grouping(pipeline: Pipeline, rule_id: str) -> Any:
    return (await pipeline.api("GET", f"/api/v1/rules/{rule_id}"))["grouping"]


async def test_grouping_editor_sets_shows_refuses_and_removes(console: Console) -> None:
    page, pipeline = console.page, console.pipeline
    tenant = await pipeline.create_tenant(
        "acme", [("HIGH", "db", "*")], [("webhook", f"{pipeline.hook_base}/g")]
    )
    rule_id = tenant.rule_ids[0]
    await console.sign_in(tenant.token)
    await console.open(f"/rules/{rule_id}")
    form = grouping_form(page)
    await form.get_by_label("Group this rule's notifications").check()
    # The defaults are shown before anything is typed.
    await expect(form.get_by_label("Group interval (s)", exact=True)).to_have_attribute(
        "placeholder", "300"
    )
    await form.get_by_role("button", name="Add field").click()
    await form.get_by_label("Field 1", exact=True).fill("source")
    await form.get_by_role("button", name="Add field").click()
    await form.get_by_label("Field 2", exact=True).fill("color")
    await form.get_by_label("Group wait (s)", exact=True).fill("1")
    await form.get_by_role("button", name="Save grouping").click()

    # The API's 422 names grouping.group_by[1]: the message is under that field.
    second = form.get_by_label("Field 2", exact=True)
    await expect(second).to_have_attribute("aria-invalid", "true")
    message = form.locator('[id="rule-grouping-grouping.group_by[1]-error"]')
    await expect(message).to_contain_text("must be severity, source, name or context.<key>")
    await expect(form.get_by_label("Field 1", exact=True)).not_to_have_attribute(
        "aria-invalid", "true"
    )
    assert await stored_grouping(pipeline, rule_id) is None

    await second.fill("context.cluster")
    await form.get_by_role("button", name="Save grouping").click()
    await expect(form.get_by_role("status")).to_have_text("Grouping saved.")
    assert await stored_grouping(pipeline, rule_id) == {
        "group_by": ["source", "context.cluster"],
        "group_wait_s": 1,
        "group_interval_s": 300,
        "repeat_interval_s": 14400,
    }
    # The saved rule shows its stored policy, the defaults filled in.
    await expect(form.get_by_label("Group interval (s)", exact=True)).to_have_value("300")
    await expect(second).not_to_have_attribute("aria-invalid", "true")
    await console.shot("rule-grouping")

    await console.view("Rules")
    row = page.locator(f'tr[data-rule-id="{rule_id}"]')
    await expect(row).to_contain_text("grouped by source, context.cluster · 1s/5m/4h")
    await console.shot("rules-grouped")

    await row.get_by_role("link", name="Open").click()
    await form.get_by_label("Group this rule's notifications").uncheck()
    await form.get_by_role("button", name="Remove grouping").click()
    await expect(form.get_by_role("status")).to_have_text("Grouping removed.")
    assert await stored_grouping(pipeline, rule_id) is None
    await console.view("Rules")
    await expect(row).to_contain_text("not grouped")


async def grouped_tenant(pipeline: Pipeline) -> str:
    """Client acme: HIGH/db/* flushes after 1 s, LOW/web/* waits an hour; both grouped by
    context.cluster, both to the webhook sink ``digests``. Its key's token."""
    tenant = await pipeline.create_tenant(
        "acme",
        [("HIGH", "db", "*"), ("LOW", "web", "*")],
        [("webhook", f"{pipeline.hook_base}/digests")],
    )
    for rule_id, wait in zip(tenant.rule_ids, (1, 3600), strict=True):
        rule = await pipeline.api("GET", f"/api/v1/rules/{rule_id}")
        policy = {"group_by": ["context.cluster"], "group_wait_s": wait}
        body = {"version": rule["version"], "grouping": policy}
        await pipeline.api("PATCH", f"/api/v1/rules/{rule_id}", json=body)
    await pipeline.wait_rules_live(2)
    return tenant.token


async def test_groups_view_shows_a_digest_of_real_alerts(console: Console) -> None:
    page, pipeline = console.page, console.pipeline
    token = await grouped_tenant(pipeline)
    db = {"severity": "HIGH", "source": "db", "context": {"cluster": XSS_LABEL}}
    await pipeline.post_alerts(
        [
            {**db, "name": XSS_NAME},
            {**db, "name": "disk_full"},
            {"severity": "LOW", "source": "web", "name": "slow_page", "context": {"cluster": "us"}},
        ]
    )

    async def digest_received() -> bool:
        return len(await pipeline.received("digests")) >= 1

    await eventually(digest_received, timeout=WAIT_MS / 1000, what="a digest at the sink")

    await console.sign_in(token)
    await console.view("Groups")
    groups = page.get_by_role("table", name="Groups")
    sent = groups.get_by_role("row").filter(has_text=f"cluster={XSS_LABEL}")
    waiting = groups.get_by_role("row").filter(has_text="cluster=us")
    # Columns: labels, kind, endpoint, state, pending, members, digests, due, last flush.
    await expect(sent.get_by_role("cell").nth(5)).to_have_text("2", timeout=WAIT_MS)
    await expect(sent.get_by_role("cell").nth(6)).to_have_text("1")
    await expect(sent.get_by_role("cell").nth(4)).to_have_text("0")
    await expect(waiting.get_by_role("cell").nth(4)).to_have_text("1")
    await expect(waiting.get_by_role("cell").nth(6)).to_have_text("0")
    await expect(sent.get_by_role("cell").nth(1)).to_have_text("firing")
    await expect(sent.get_by_role("cell").nth(3)).to_have_text("open")
    await expect(page.locator("table b, table img")).to_have_count(0)  # the markup stayed text
    await console.shot("groups")

    await sent.get_by_role("link", name="Open").click()
    digests = page.get_by_role("table", name="Digests")
    await expect(digests.get_by_role("row")).to_have_count(2)  # header + digest 1
    await expect(digests.get_by_text("SENT", exact=True)).to_be_visible()
    await digests.get_by_role("link", name="Members of digest 1").click()
    members = page.get_by_role("table", name="Digest 1: 2 members")
    await expect(members.get_by_role("row")).to_have_count(3)
    await expect(members.get_by_text(XSS_NAME)).to_be_visible()
    await expect(members.get_by_text("disk_full")).to_be_visible()
    await expect(page.locator("table b, table img")).to_have_count(0)
    await console.shot("group-detail")

    # From a member to its notification, and back through its delivery's digest link.
    await members.get_by_role("link").filter(has_text="disk_full").click()
    deliveries = page.get_by_role("table", name="Deliveries")
    await expect(deliveries.get_by_text("SENT", exact=True)).to_be_visible(timeout=WAIT_MS)
    attempts = page.get_by_role("table", name="Attempts")
    await expect(attempts.get_by_role("row").filter(has_text="200")).to_have_count(1)
    await expect(attempts.get_by_role("link", name="digest")).to_have_count(1)
    await deliveries.get_by_role("link", name="digest").click()
    await expect(page.get_by_role("table", name="Digest 1: 2 members")).to_be_visible()

    await console.view("Notifications")
    await page.get_by_label("Status").select_option("GROUPED")
    await expect(page).to_have_url(f"{console.url}/notifications?status=GROUPED")
    rows = page.locator("table.notifications tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("slow_page")
    await expect(rows.first.get_by_text("GROUPED", exact=True)).to_be_visible()
    # A waiting member links to its group, which has no digest yet.
    await rows.first.get_by_role("link").click()
    await page.get_by_role("table", name="Deliveries").get_by_role("link", name="group").click()
    await expect(page.get_by_text("No digest yet")).to_be_visible()
    await expect(page.get_by_role("table", name="Group")).to_contain_text("cluster=us")
