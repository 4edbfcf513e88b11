"""The console's shell in a real browser: served with its headers, sign-in and
sign-out, who you are, a client key confined to its client, shareable URLs."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from tests.console.browser import PHONE
from tests.console.console import Console

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


async def test_phone_width_keeps_the_navigation_usable(console: Console) -> None:
    await console.page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await console.sign_in(console.admin_token)
    await expect(console.page.get_by_role("button", name="Sign out")).to_be_in_viewport()
    await console.shot("phone-clients")
