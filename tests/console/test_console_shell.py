"""The console's shell in a real browser: served with its headers, sign-in and
sign-out, who you are, a client key confined to its client, shareable URLs, and the
shared polling (lib/poll.js, lib/ui.js useResource) against an API slower than it."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from playwright.async_api import Route, expect

from tests.console.browser import PHONE
from tests.console.console import WAIT_MS, Console
from tests.pipeline_support import eventually

pytestmark = pytest.mark.e2e


async def test_served_with_a_strict_policy(console: Console) -> None:
    async with httpx.AsyncClient() as http:
        page = await http.get(f"{console.url}/clients/some-deep-link?x=1")
        script = await http.get(f"{console.url}/app.js")
        missing = await http.get(f"{console.url}/lib/nothing.js")
    assert page.status_code == 200 and '<div id="app">' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert script.headers["content-type"].startswith("text/javascript")
    assert missing.status_code == 404


async def test_sign_in_shows_who_and_sign_out_forgets(console: Console) -> None:
    page = console.page
    await console.open()
    await page.get_by_label("API token").fill("not-a-token")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("401")

    await console.sign_in(console.admin_token)
    await expect(page.get_by_test_id("who")).to_have_text("Signed in as admin")
    # The token is in the tab's session storage, never in the URL.
    assert console.admin_token not in page.url
    await page.reload()
    await expect(page.get_by_test_id("who")).to_have_text("Signed in as admin")
    await console.shot("sign-in-admin")

    await console.sign_out()
    await page.reload()
    await expect(page.get_by_label("API token")).to_be_visible()


async def test_admin_creates_a_client_and_key_the_key_sees_only_its_client(
    console: Console,
) -> None:
    page = console.page
    await console.pipeline.api("POST", "/api/v1/clients", json={"client_id": "other", "name": "x"})
    await console.sign_in(console.admin_token)
    await page.get_by_label("Client id").fill("acme")
    await page.get_by_label("Name").fill("Acme Corp")
    await page.get_by_role("button", name="Create client").click()
    await expect(page).to_have_url(f"{console.url}/clients/acme")
    await page.get_by_label("Description").fill("console test")
    await page.get_by_role("button", name="Issue key").click()
    token = await page.get_by_test_id("secret-value").inner_text()
    await console.shot("clients")
    await page.get_by_role("button", name="Done").click()
    await expect(page.get_by_test_id("secret-value")).to_have_count(0)

    await console.sign_out()
    await console.sign_in(token)
    await expect(page.get_by_test_id("who")).to_contain_text("client acme")
    await console.open("/clients")
    await expect(page.get_by_role("link", name="acme", exact=True)).to_be_visible()
    await expect(page.get_by_role("link", name="other", exact=True)).to_have_count(0)
    # A client key cannot revoke keys, not even its own.
    await console.open("/clients/acme")
    await expect(page.get_by_role("table").filter(has_text="active")).to_be_visible()
    await expect(page.get_by_role("button", name="Revoke")).to_have_count(0)

    # The admin revokes it: the key is listed as revoked and signs in no more.
    await console.sign_out()
    await console.sign_in(console.admin_token)
    await console.open("/clients/acme")
    await page.get_by_role("button", name="Revoke").click()
    await expect(page.get_by_role("row").filter(has_text="revoked")).to_have_count(1)
    await expect(page.get_by_role("button", name="Revoke")).to_have_count(0)
    assert any(d.startswith("confirm:") and "Revoke" in d for d in console.dialogs)
    [key] = (await console.pipeline.api("GET", "/api/v1/clients/acme/api-keys"))["items"]
    assert key["revoked_at"], key
    await console.sign_out()
    await page.get_by_label("API token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("401")


async def test_phone_width_keeps_the_navigation_usable(console: Console) -> None:
    await console.page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await console.sign_in(console.admin_token)
    await expect(console.page.get_by_role("button", name="Sign out")).to_be_in_viewport()
    await console.shot("phone-clients")


SLOW_S = 3.0  # longer than the notifications list's 2 s polling interval
EMPTY = "No notifications match this filter."


async def test_polling_a_slow_api_shows_its_answers_one_request_at_a_time(
    console: Console,
) -> None:
    """Every list answer takes longer than the polling interval: the list still loads
    and follows the pipeline (a poll no longer throws the answer in flight away), never
    has two list requests out at once, stops polling while the tab is hidden, and a
    filter change shows "Loading…" rather than the old filter's rows."""
    page, pipeline = console.page, console.pipeline
    await pipeline.create_tenant(
        "acme", [("HIGH", "db", "*")], [("webhook", f"{pipeline.hook_base}/ok")]
    )
    await pipeline.wait_rules_live(1)
    out = {"now": 0, "most": 0, "sent": 0}

    async def slow(route: Route) -> None:
        out["now"] += 1
        out["sent"] += 1
        out["most"] = max(out["most"], out["now"])
        try:
            await asyncio.sleep(SLOW_S)
            await route.continue_()
        finally:
            out["now"] -= 1

    await page.route(re.compile(r"/api/v1/notifications\?"), slow)
    await console.sign_in(console.admin_token)
    await console.view("Notifications")
    await expect(page.get_by_text(EMPTY)).to_be_visible(timeout=WAIT_MS)

    await pipeline.post_alerts([{"severity": "HIGH", "source": "db", "name": "slow_disk"}])
    row = page.get_by_role("row").filter(has_text="slow_disk")
    await expect(row.get_by_text("SENT", exact=True)).to_be_visible(timeout=WAIT_MS)
    assert out["most"] == 1, out

    # A new filter: its rows or "Loading…", never the old filter's rows under it.
    await page.get_by_label("Status").select_option("FAILED")
    await expect(row).to_have_count(0, timeout=1000)
    await expect(page.get_by_text(EMPTY)).to_be_visible(timeout=WAIT_MS)

    # A hidden tab is not polled; shown again, it is polled at once.
    await page.evaluate(
        """() => {
            Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )

    async def idle() -> bool:
        return out["now"] == 0

    await eventually(idle, what="the request in flight answered")
    before = out["sent"]
    await page.wait_for_timeout(2 * 2000 + 500)  # two polling intervals
    assert out["sent"] == before, "polled while the tab was hidden"
    await page.evaluate(
        """() => {
            Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )

    async def polled() -> bool:
        return out["sent"] > before

    await eventually(polled, 10, "a poll once the tab is shown")
