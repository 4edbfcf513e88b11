"""The match tester in a real browser: the sample alert lives in the URL, the matching
rules come with how each field matched and link to the rule, silences created through
the API that would mute the sample are listed with their links, and "Silence alerts like
this" carries the alert to the silence form; a client key sees only its own."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import expect

from tests.console.console import Console

pytestmark = pytest.mark.e2e

SAMPLE = "severity=HIGH&source=payments&name=card-declined"


async def silence(console: Console, client_id: str, token: str | None = None) -> Any:
    ends = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    body = {
        "client_id": client_id,
        "matchers": [
            {"name": "source", "op": "=", "value": "payments"},
            {"name": "context.env", "op": "=", "value": "prod"},
        ],
        "ends_at": ends,
        "comment": "deploying payments",
    }
    return await console.pipeline.api("POST", "/api/v1/silences", token, json=body)


async def test_the_tester_finds_the_rule_and_the_silence(console: Console) -> None:
    page = console.page
    pipeline = console.pipeline
    acme = await pipeline.create_tenant(
        "acme", [("HIGH", "payments", "*"), ("LOW", "db", "disk")], [], wait=5
    )
    other = await pipeline.create_tenant("other", [("*", "payments", "card-declined")], [])
    muting = await silence(console, "acme")
    await console.sign_in(console.admin_token)
    await console.view("Match tester")
    await expect(page.get_by_text("Fill in an alert's severity")).to_be_visible()

    form = page.get_by_role("form", name="Sample alert")
    await form.get_by_label("Client", exact=True).select_option("acme")
    await form.get_by_label("Severity").select_option("HIGH")
    await form.get_by_label("Source").fill("payments")
    await form.get_by_label("Name").fill("card-declined")
    await form.get_by_role("button", name="Add context entry").click()
    await form.get_by_label("Context key 1").fill("env")
    await form.get_by_label("Context value 1").fill("prod")
    await form.get_by_role("button", name="Test").click()
    shared = f"{console.url}/match?client_id=acme&{SAMPLE}&ctx.env=prod"
    await expect(page).to_have_url(shared)

    rules = page.get_by_role("table", name="Matching rules")
    await expect(rules.get_by_role("row")).to_have_count(2)  # header + acme's HIGH rule
    link = rules.get_by_role("link", name="Rule HIGH / payments / *")
    await expect(link).to_have_attribute("href", f"/ui/rules/{acme.rule_ids[0]}")
    row = rules.get_by_role("row").nth(1)
    await expect(row.get_by_role("cell").nth(2)).to_contain_text("exact match")
    await expect(row.get_by_role("cell").nth(4)).to_contain_text("wildcard")

    silences = page.get_by_role("table", name="Muting silences")
    await expect(silences).to_contain_text("deploying payments")
    await expect(silences.get_by_role("link")).to_have_attribute(
        "href", f"/ui/silences/{muting['silence_id']}"
    )
    await expect(page.get_by_role("link", name="Silence alerts like this")).to_have_attribute(
        "href", f"/ui/silences/new?client_id=acme&{SAMPLE}"
    )
    await console.shot("match")

    # Without the context entry the silence (context.env = prod) no longer mutes it.
    await form.get_by_role("button", name="Remove context entry 1").click()
    await form.get_by_role("button", name="Test").click()
    await expect(page).to_have_url(f"{console.url}/match?client_id=acme&{SAMPLE}")
    await expect(page.get_by_text("No silence mutes this alert now.")).to_be_visible()

    # A shared link asks again; all clients: other's rule matches too.
    await page.goto(f"{console.url}/match?{SAMPLE}")
    await expect(page.get_by_role("table", name="Matching rules").get_by_role("row")).to_have_count(
        3
    )
    await expect(form.get_by_label("Source")).to_have_value("payments")
    other_link = page.get_by_role("link", name="Rule * / payments / card-declined")
    await expect(other_link).to_have_attribute("href", f"/ui/rules/{other.rule_ids[0]}")

    # The rule link opens the rule's page; Back returns to the same test.
    await page.goto(shared)
    await page.get_by_role("link", name="Rule HIGH / payments / *").click()
    await expect(page).to_have_url(f"{console.url}/rules/{acme.rule_ids[0]}")
    await expect(page.get_by_role("heading", name="Rule HIGH / payments / *")).to_be_visible()
    await page.go_back()
    await expect(page.get_by_role("table", name="Muting silences")).to_contain_text("deploying")

    # An alert no enabled rule matches says so.
    await page.goto(f"{console.url}/match?severity=LOW&source=nowhere&name=x")
    await expect(page.get_by_text("No enabled rule matches this alert")).to_be_visible()


async def test_a_client_key_tests_against_its_own_rules_and_silences(console: Console) -> None:
    page = console.page
    pipeline = console.pipeline
    await pipeline.create_tenant("acme", [("HIGH", "payments", "*")], [])
    other = await pipeline.create_tenant("other", [("*", "payments", "card-declined")], [])
    await silence(console, "acme")
    own = await silence(console, "other", other.token)
    await console.sign_in(other.token)
    await console.view("Match tester")
    await expect(page.get_by_label("Client", exact=True)).to_have_count(0)
    await console.open(f"/match?{SAMPLE}&ctx.env=prod")

    rules = page.get_by_role("table", name="Matching rules")
    await expect(rules.get_by_role("row")).to_have_count(2)
    await expect(rules).to_contain_text("other")
    await expect(rules).not_to_contain_text("acme")
    silences = page.get_by_role("table", name="Muting silences")
    await expect(silences.get_by_role("row")).to_have_count(2)
    await expect(silences.get_by_role("link")).to_have_attribute(
        "href", f"/ui/silences/{own['silence_id']}"
    )
    await expect(page.get_by_role("link", name="Silence alerts like this")).to_have_attribute(
        "href", re.compile(rf"/ui/silences/new\?client_id=other&{SAMPLE}$")
    )
