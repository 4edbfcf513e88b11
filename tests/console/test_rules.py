"""The rules view in a real browser: create a rule and see it live and in the API, a
stale edit shows the conflict and the current values and is resolved, enable/disable,
delete, filters in the URL, and a client key confined to its own rules."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Page, Route, expect

from tests.console.browser import PHONE
from tests.console.console import WAIT_MS, Console

pytestmark = pytest.mark.e2e


async def make_rule(console: Console, client_id: str, source: str, name: str) -> Any:
    body = {"client_id": client_id, "severity": "HIGH", "source": source, "name": name}
    return await console.pipeline.api("POST", "/api/v1/rules", json=body)


def edit_form(page: Page) -> Any:
    return page.get_by_role("form", name="Edit rule")


async def test_admin_creates_a_rule_that_goes_live(console: Console) -> None:
    page = console.page
    for client_id in ("acme", "other"):
        body = {"client_id": client_id, "name": client_id}
        await console.pipeline.api("POST", "/api/v1/clients", json=body)
    await make_rule(console, "other", "db", "disk-full")
    await console.sign_in(console.admin_token)
    await console.view("Rules")
    await expect(page.get_by_role("table", name="Rules")).to_contain_text("disk-full")

    # The client filter lives in the URL and prefills the create form.
    await page.get_by_label("Show client").select_option("acme")
    await expect(page).to_have_url(re.compile(r"/ui/rules\?client_id=acme$"))
    await expect(page.get_by_text("No rule matches these filters.")).to_be_visible()
    form = page.get_by_role("form", name="Create a rule")
    await expect(form.get_by_label("Client", exact=True)).to_have_value("acme")
    await form.get_by_label("Severity").select_option("CRITICAL")
    await form.get_by_label("Source").fill("payments")
    await form.get_by_label("Name").fill("*")
    await form.get_by_role("button", name="Create rule").click()
    notice = form.get_by_role("status")
    await expect(notice).to_contain_text("live", timeout=WAIT_MS)
    await expect(notice).not_to_contain_text("not live")

    rules = await console.pipeline.listed("/api/v1/rules", client_id="acme")
    assert [(r["severity"], r["source"], r["name"], r["enabled"], r["live"]) for r in rules] == [
        ("CRITICAL", "payments", "*", True, True)
    ]
    table = page.get_by_role("table", name="Rules")
    await expect(table.get_by_role("row")).to_have_count(2)  # header + the new rule
    await expect(table).to_contain_text("payments")
    await expect(table).not_to_contain_text("disk-full")
    await console.shot("rules")

    # The enabled filter too; a reload keeps the view and both filters.
    await page.get_by_label("Show state").select_option("false")
    await expect(page).to_have_url(re.compile(r"client_id=acme&enabled=false$"))
    await expect(page.get_by_text("No rule matches these filters.")).to_be_visible()
    await page.reload()
    await expect(page.get_by_label("Show state")).to_have_value("false")
    await expect(page.get_by_label("Show client")).to_have_value("acme")

    # The create form refuses three wildcards with the API's message.
    await page.get_by_label("Show state").select_option("")
    await form.get_by_label("Severity").select_option("*")
    await form.get_by_label("Source").fill("*")
    await form.get_by_label("Name").fill("*")
    await form.get_by_role("button", name="Create rule").click()
    await expect(form.get_by_role("alert")).to_contain_text("cannot all be '*'")


async def test_a_stale_edit_shows_the_conflict_and_is_resolved(console: Console) -> None:
    page = console.page
    await console.pipeline.api("POST", "/api/v1/clients", json={"client_id": "acme", "name": "a"})
    rule = await make_rule(console, "acme", "payments", "card-declined")
    path = f"/api/v1/rules/{rule['rule_id']}"
    await console.sign_in(console.admin_token)
    await console.open(f"/rules/{rule['rule_id']}")
    form = edit_form(page)
    await expect(form.get_by_label("Name")).to_have_value("card-declined")
    await form.get_by_label("Name").fill("mine")

    # Someone else saves between our read and our save.
    await console.pipeline.api("PATCH", path, json={"version": 1, "source": "billing"})
    await form.get_by_role("button", name="Save").click()
    conflict = page.get_by_role("alert").filter(has_text="Someone changed this rule")
    await expect(conflict).to_be_visible()
    await expect(conflict).to_contain_text("version 2")
    await expect(conflict.get_by_test_id("mine-name")).to_have_text("mine (changed)")
    await expect(conflict.get_by_test_id("current-name")).to_have_text("card-declined")
    await expect(conflict.get_by_test_id("mine-source")).to_have_text("payments")
    await expect(conflict.get_by_test_id("current-source")).to_have_text("billing")
    await expect(conflict.get_by_test_id("merged-source")).to_have_text("billing")
    await expect(conflict.get_by_test_id("merged-name")).to_have_text("mine")
    await console.shot("rule-conflict")
    assert (await console.pipeline.api("GET", path))["name"] == "card-declined"

    # "Apply mine on top of current": re-sent with version 2; the name the operator
    # changed is theirs, the source they did not touch keeps the other edit's value.
    await conflict.get_by_role("button", name="Apply mine on top of current").click()
    await expect(page.get_by_role("status").filter(has_text="Saved as version 3")).to_be_visible()
    await expect(conflict).to_have_count(0)
    saved = await console.pipeline.api("GET", path)
    assert (saved["version"], saved["source"], saved["name"]) == (3, "billing", "mine")
    await expect(edit_form(page).get_by_label("Source")).to_have_value("billing")

    # Another stale edit, resolved the other way: take the current values.
    await form.get_by_label("Name").fill("second")
    await console.pipeline.api("PATCH", path, json={"version": 3, "name": "theirs"})
    await form.get_by_role("button", name="Save").click()
    await expect(conflict.get_by_test_id("current-name")).to_have_text("theirs")
    await conflict.get_by_role("button", name="Use current values").click()
    await expect(conflict).to_have_count(0)
    await expect(form.get_by_label("Name")).to_have_value("theirs")
    await expect(page.get_by_test_id("rule-version")).to_have_text("4")
    # Saving now carries version 4 and succeeds.
    await form.get_by_label("Source").fill("ledger")
    await form.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status").filter(has_text="Saved as version 5")).to_be_visible()
    saved = await console.pipeline.api("GET", path)
    assert (saved["version"], saved["source"], saved["name"]) == (5, "ledger", "theirs")


# Two animation frames: the page has run the callbacks of the answers it already has.
SETTLE = "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"


async def test_a_live_poll_answering_after_a_save_does_not_bring_back_the_old_version(
    console: Console,
) -> None:
    """The page polls a rule that is not live yet; a poll read before a save but answered
    after it carries the old version: it must not replace the saved rule on the page, or
    the next Save is refused (409) against the operator's own change."""
    page = console.page
    await console.pipeline.api("POST", "/api/v1/clients", json={"client_id": "acme", "name": "a"})
    rule = await make_rule(console, "acme", "payments", "card-declined")
    path = f"/api/v1/rules/{rule['rule_id']}"
    polled, saved = asyncio.Event(), asyncio.Event()
    reads = 0

    async def reads_of_the_rule(route: Route) -> None:
        nonlocal reads
        if route.request.method != "GET":
            await route.continue_()
            return
        reads += 1
        answer = await route.fetch()  # read now: version 1
        body = await answer.json()
        if reads == 1:
            body["live"] = False  # as if the evaluators lagged: the page starts polling
        else:
            polled.set()
            await asyncio.wait_for(saved.wait(), timeout=WAIT_MS / 1000)
        await route.fulfill(response=answer, json=body)

    await page.route(lambda url: urlsplit(url).path == path, reads_of_the_rule)
    await console.sign_in(console.admin_token)
    await console.open(f"/rules/{rule['rule_id']}")
    await expect(page.get_by_label("Rule state")).to_contain_text("not live yet")
    await asyncio.wait_for(polled.wait(), timeout=WAIT_MS / 1000)

    form = edit_form(page)
    await form.get_by_label("Name").fill("first")
    await form.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status").filter(has_text="Saved as version 2")).to_be_visible()
    async with page.expect_response(
        lambda r: urlsplit(r.url).path == path and r.request.method == "GET"
    ) as late:
        saved.set()  # the poll's answer (version 1, live) lands now
    await (await late.value).finished()
    await page.evaluate(SETTLE)
    await expect(page.get_by_test_id("rule-version")).to_have_text("2")

    await form.get_by_label("Name").fill("second")
    await form.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status").filter(has_text="Saved as version 3")).to_be_visible()
    await expect(
        page.get_by_role("alert").filter(has_text="Someone changed this rule")
    ).to_have_count(0)
    current = await console.pipeline.api("GET", path)
    assert (current["version"], current["name"]) == (3, "second")


async def test_a_slow_read_of_the_rule_shown_before_does_not_replace_this_one(
    console: Console,
) -> None:
    """Back/Forward from one rule to another reuses the page: the answer for the rule
    left behind, if it lands last, must not be shown (nor saved) as the current one."""
    page = console.page
    await console.pipeline.api("POST", "/api/v1/clients", json={"client_id": "acme", "name": "a"})
    first = await make_rule(console, "acme", "payments", "first-rule")
    second = await make_rule(console, "acme", "payments", "second-rule")
    first_path = f"/api/v1/rules/{first['rule_id']}"
    held, release = asyncio.Event(), asyncio.Event()

    async def slow_first(route: Route) -> None:
        answer = await route.fetch()
        held.set()
        await asyncio.wait_for(release.wait(), timeout=WAIT_MS / 1000)
        await route.fulfill(response=answer)

    await console.sign_in(console.admin_token)
    await page.route(lambda url: urlsplit(url).path == first_path, slow_first)
    await console.open(f"/rules/{first['rule_id']}")
    await asyncio.wait_for(held.wait(), timeout=WAIT_MS / 1000)
    # Client-side to the second rule while the first one's read is still out.
    await page.evaluate(
        "(url) => { history.pushState(null, '', url);"
        " dispatchEvent(new PopStateEvent('popstate')); }",
        f"/ui/rules/{second['rule_id']}",
    )
    heading = page.get_by_role("heading", level=1)
    await expect(heading).to_have_text("Rule HIGH / payments / second-rule")
    async with page.expect_response(lambda r: urlsplit(r.url).path == first_path) as late:
        release.set()
    await (await late.value).finished()
    await page.evaluate(SETTLE)
    await expect(heading).to_have_text("Rule HIGH / payments / second-rule")
    await expect(edit_form(page).get_by_label("Name")).to_have_value("second-rule")


async def test_disable_enable_and_delete(console: Console) -> None:
    page = console.page
    await console.pipeline.api("POST", "/api/v1/clients", json={"client_id": "acme", "name": "a"})
    rule = await make_rule(console, "acme", "payments", "*")
    path = f"/api/v1/rules/{rule['rule_id']}"
    await console.sign_in(console.admin_token)
    await console.view("Rules")
    await page.get_by_role("link", name="Open rule HIGH payments *").click()
    await expect(page).to_have_url(f"{console.url}/rules/{rule['rule_id']}")
    await expect(page.get_by_role("heading", name="Endpoints")).to_be_visible()

    await page.get_by_role("button", name="Disable").click()
    await expect(page.get_by_role("status").filter(has_text="Disabled.")).to_be_visible()
    assert (await console.pipeline.api("GET", path))["enabled"] is False
    await page.get_by_role("button", name="Enable").click()
    await expect(page.get_by_role("status").filter(has_text="Enabled.")).to_be_visible()
    current = await console.pipeline.api("GET", path)
    assert (current["enabled"], current["version"]) == (True, 3)
    await expect(page.get_by_label("Rule state")).to_contain_text("live", timeout=WAIT_MS)

    # Disabled through the API meanwhile: the stale toggle changes nothing and shows it.
    await console.pipeline.api("PATCH", path, json={"version": 3, "enabled": False})
    await page.get_by_role("button", name="Disable").click()
    await expect(page.get_by_role("alert")).to_contain_text("now at version 4 and disabled")
    await expect(page.get_by_test_id("rule-version")).to_have_text("4")
    current = await console.pipeline.api("GET", path)
    assert (current["enabled"], current["version"]) == (False, 4)
    await page.get_by_role("button", name="Enable").click()
    await expect(page.get_by_role("status").filter(has_text="Enabled.")).to_be_visible()
    assert (await console.pipeline.api("GET", path))["enabled"] is True

    await page.get_by_role("button", name="Delete rule").click()
    await expect(page).to_have_url(f"{console.url}/rules?client_id=acme")
    await expect(page.get_by_text("No rule matches these filters.")).to_be_visible()
    assert any(d.startswith("confirm: Delete the rule") for d in console.dialogs)
    async with httpx.AsyncClient() as http:
        gone = await http.get(
            f"{console.pipeline.url('rule-service')}{path}", headers=console.pipeline.admin
        )
    assert gone.status_code == 404


async def test_a_client_key_sees_only_its_own_rules(console: Console) -> None:
    page = console.page
    acme = await console.pipeline.create_tenant("acme", [("HIGH", "payments", "*")], [])
    other = await console.pipeline.create_tenant("other", [("LOW", "secret-source", "*")], [])
    await console.sign_in(acme.token)
    await console.view("Rules")
    table = page.get_by_role("table", name="Rules")
    await expect(table).to_contain_text("payments")
    await expect(table).not_to_contain_text("secret-source")
    await expect(page.get_by_label("Show client")).to_have_count(0)
    # A shared link naming another client shows nothing of it.
    await console.open("/rules?client_id=other")
    await expect(page.get_by_text("No rule matches these filters.")).to_be_visible()
    await console.open(f"/rules/{other.rule_ids[0]}")
    await expect(page.get_by_role("alert")).to_contain_text("404")
    await expect(page.get_by_text("secret-source")).to_have_count(0)

    # The key creates rules for its own client only (no client to choose).
    await console.view("Rules")
    form = page.get_by_role("form", name="Create a rule")
    await form.get_by_label("Source").fill("api")
    await form.get_by_label("Name").fill("latency")
    await form.get_by_role("button", name="Create rule").click()
    await expect(form.get_by_role("status")).to_contain_text("created for acme")
    rules = await console.pipeline.listed("/api/v1/rules", acme.token)
    assert sorted(r["source"] for r in rules) == ["api", "payments"]

    # At phone width the list and the form stay usable (rows stack, nothing off-screen).
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await page.reload()
    await expect(form.get_by_role("button", name="Create rule")).to_be_in_viewport()
    open_link = page.get_by_role("link", name="Open rule HIGH payments *")
    await open_link.scroll_into_view_if_needed()
    await expect(open_link).to_be_in_viewport()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
