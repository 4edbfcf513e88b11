"""What every view owes the operator, checked across the views rather than in each
view's module: a loading, an empty and an error state; forms and navigation usable from
the keyboard with a visible focus; times in the browser's zone with UTC on hover; and the
token kept out of every URL the console requests, every service's log and any cookie."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, Route, expect

from tests.console.console import WAIT_MS, Console

pytestmark = pytest.mark.e2e

# (view path, the API path its list reads, the view's empty text)
LIST_VIEWS = [
    ("/clients", "/api/v1/clients", "No clients yet."),
    ("/rules", "/api/v1/rules", "No rules yet."),
    ("/endpoints", "/api/v1/rules", "No rules yet: create one in Rules"),
    ("/silences", "/api/v1/silences", "No silences match."),
    ("/notifications", "/api/v1/notifications", "No notifications match this filter."),
    ("/groups", "/api/v1/groups", "No group matches these filters."),
    ("/loadgen", "/api/v1/loadgen/jobs", "No load-generator jobs yet."),
]
# Half an hour off UTC: a local minute can never be mistaken for the UTC one.
ZONE = "Asia/Kolkata"


def api_path(path: str) -> Callable[[str], bool]:
    return lambda url: urlsplit(url).path == path


async def fail_with_500(route: Route) -> None:
    if route.request.method == "OPTIONS":  # a preflight, should one reach us: let it pass
        await route.continue_()
        return
    # Ingest (load jobs) is another origin under the tests: the answer must allow it.
    await route.fulfill(
        status=500,
        headers={
            "Content-Type": "application/problem+json",
            "Access-Control-Allow-Origin": "*",
        },
        body=json.dumps({"title": "Internal Server Error", "detail": "injected", "status": 500}),
    )


async def check_states(page: Page, console: Console, view: str, path: str, empty: str) -> None:
    """Loading while the API has not answered, then its empty text; its error when the
    API fails."""
    main = page.locator("#view")
    gate = asyncio.Event()

    async def held(route: Route) -> None:
        await gate.wait()
        await route.continue_()

    matcher = api_path(path)
    await page.route(matcher, held)
    await console.open(view)
    await expect(main.get_by_role("status").filter(has_text="Loading").first).to_be_visible()
    await expect(main.get_by_text(empty)).to_have_count(0)
    gate.set()
    await expect(main.get_by_text(empty)).to_be_visible(timeout=WAIT_MS)
    await expect(main.get_by_role("alert")).to_have_count(0)
    await page.unroute(matcher)

    await page.route(matcher, fail_with_500)
    await console.open(view)
    error = main.get_by_role("alert").filter(has_text="injected").first
    await expect(error).to_contain_text("500")
    await expect(error).to_contain_text("injected")
    await expect(main.get_by_text(empty)).to_have_count(0)
    await page.unroute(matcher)


async def test_every_list_view_shows_loading_empty_and_error(console: Console) -> None:
    page = console.page
    await console.sign_in(console.admin_token)
    for view, path, empty in LIST_VIEWS:
        await check_states(page, console, view, path, empty)


async def tab_to(page: Page, label: str, limit: int = 40) -> None:
    """Press Tab until the element named ``label`` has the focus (bounded)."""
    for _ in range(limit):
        name = await page.evaluate(
            """() => { const e = document.activeElement;
                 return e?.getAttribute("aria-label") || e?.labels?.[0]?.textContent?.trim()
                   || e?.textContent?.trim() || ""; }"""
        )
        if name.startswith(label):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {label!r}")


async def focus_ring(page: Page) -> tuple[str, str]:
    return tuple(  # type: ignore[return-value]
        await page.evaluate(
            """() => { const s = getComputedStyle(document.activeElement);
                 return [s.outlineStyle, s.outlineWidth]; }"""
        )
    )


async def test_keyboard_only_sign_in_navigation_and_form_with_a_visible_focus(
    console: Console,
) -> None:
    page = console.page
    await console.open()
    await tab_to(page, "API token")
    assert await focus_ring(page) == ("solid", "3px")
    await page.keyboard.type(console.admin_token)
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("who")).to_have_text("Signed in as admin")

    # The navigation: reached with Tab, its focus drawn, opened with Enter.
    await tab_to(page, "Rules")
    assert await focus_ring(page) == ("solid", "3px")
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(f"{console.url}/rules")

    # A form filled and submitted from the keyboard alone.
    await console.open("/clients")
    await expect(page.get_by_text("No clients yet.")).to_be_visible()
    await tab_to(page, "Client id")
    assert await focus_ring(page) == ("solid", "3px")
    await page.keyboard.type("keys")
    await page.keyboard.press("Tab")
    await page.keyboard.type("Keyboard Ltd")
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(f"{console.url}/clients/keys")
    client = await console.pipeline.api("GET", "/api/v1/clients/keys")
    assert client["name"] == "Keyboard Ltd"


async def test_times_show_in_the_browsers_zone_with_utc_on_hover(console: Console) -> None:
    page = console.page
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Emulation.setTimezoneOverride", {"timezoneId": ZONE})
    await console.pipeline.api("POST", "/api/v1/clients", json={"client_id": "tz", "name": "tz"})
    created = (await console.pipeline.api("GET", "/api/v1/clients/tz"))["created_at"]
    utc = datetime.fromisoformat(created.replace("Z", "+00:00"))
    local = utc.astimezone(ZoneInfo(ZONE))

    await console.sign_in(console.admin_token)
    await console.open("/clients")
    shown = page.get_by_role("row").filter(has_text="tz").locator("time")
    await expect(shown).to_have_attribute("title", f"{utc:%Y-%m-%d %H:%M:%S} UTC")
    # The text is the local wall clock: its minute is UTC's plus 30.
    await expect(shown).to_contain_text(f":{local:%M:%S}")
    assert f":{utc:%M:%S}" not in await shown.inner_text()


async def test_the_token_is_never_in_a_url_or_a_log(console: Console) -> None:
    page, pipeline = console.page, console.pipeline
    tenant = await pipeline.create_tenant(
        "acme", [("HIGH", "db", "*")], [("webhook", f"{pipeline.hook_base}/t")], wait=10
    )
    await pipeline.post_alerts([{"severity": "HIGH", "source": "db", "name": "disk_full"}])
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))

    for token in (console.admin_token, tenant.token):
        await console.sign_in(token)
        for view, _, _ in LIST_VIEWS:
            await console.open(view)
            loading = page.locator("#view").get_by_role("status").filter(has_text="Loading")
            await expect(loading).to_have_count(0)
        await console.open("/notifications")
        await page.locator("#view").get_by_role("link", name="disk_full").first.click()
        await expect(page.get_by_role("table", name="Alert fields")).to_be_visible()
        await console.sign_out()

    assert len(urls) > 20, urls  # the views did call the APIs
    # No cookie either: only the console's own code authenticates a request (no CSRF).
    assert await page.context.cookies() == []
    for token in (console.admin_token, tenant.token):
        assert not [u for u in urls if token in u]
        for name, proc in {**pipeline.procs, "sinks": pipeline.sinks}.items():
            text = proc.log_path.read_text(errors="replace") if proc.log_path.exists() else ""
            assert token not in text, f"{name}'s log holds a token"
