"""A rule's endpoints in a real browser (/ui/endpoints?rule_id=): a webhook added to the
sink with its signing secret shown once and never returned by the API, a test send
that arrives signed, the 5 s test-send throttle shown, a preview whose alert name with
markup is shown as text, a rotation whose new secret verifies the next test send
(the official standardwebhooks package), disable and delete; a Slack endpoint whose
refused URL is reported on its field and whose URL is masked until revealed; an edit
that sends only what changed (a rate set meanwhile through the API survives), refuses
a number the browser cannot read, and takes the focus under its row."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.console.browser import PHONE
from tests.console.console import WAIT_MS, Console
from tests.pipeline_support import eventually
from tests.webhook_receiver import signature_verifies

pytestmark = pytest.mark.e2e

PAGERDUTY = "https://events.pagerduty.com/v2/enqueue"
ROUTING_KEY = "R0ut1ngKey0f32LettersAndDigits00"
TEAMS = "https://prod-00.westeurope.logic.azure.com/workflows/f00d/triggers/manual/paths/invoke?sig=s3cr3t"


async def _rule(console: Console, client_id: str = "acme") -> str:
    api = console.pipeline.api
    await api("POST", "/api/v1/clients", json={"client_id": client_id, "name": client_id})
    rule = await api(
        "POST",
        "/api/v1/rules",
        json={"client_id": client_id, "severity": "HIGH", "source": "billing", "name": "db_down"},
    )
    rule_id: str = rule["rule_id"]
    return rule_id


async def _endpoints(console: Console, rule_id: str) -> list[dict[str, Any]]:
    return await console.pipeline.listed(f"/api/v1/rules/{rule_id}/endpoints")


async def _received(console: Console, name: str, count: int) -> list[dict[str, Any]]:
    """The sink's requests for ``name`` once there are ``count`` (a test send is answered
    after the receiver answered, so they are there already; bounded all the same)."""

    async def enough() -> list[dict[str, Any]] | None:
        found = await console.pipeline.received(name)
        return found if len(found) >= count else None

    found: list[dict[str, Any]] = await eventually(enough, 10, f"{count} requests to {name}")
    return found


async def test_webhook_endpoint_secret_test_send_preview_rotate_disable_delete(
    console: Console,
) -> None:
    page = console.page
    rule_id = await _rule(console)
    hook = f"{console.pipeline.hook_base}/console-ep"
    await console.sign_in(console.admin_token)
    await console.open(f"/endpoints?rule_id={rule_id}")
    await expect(page.get_by_text("This rule has no endpoints yet")).to_be_visible()

    # Add a webhook: its signing secret is shown this once.
    await expect(page.get_by_label("Type")).to_have_value("webhook")
    await page.get_by_label("Webhook URL").fill(hook)
    await page.get_by_role("button", name="Add endpoint").click()
    secret = (await page.get_by_test_id("secret-value").inner_text()).strip()
    assert secret.startswith("whsec_"), secret
    row = page.get_by_role("row").filter(has_text=hook)
    await expect(row).to_contain_text("enabled")
    [stored] = await _endpoints(console, rule_id)
    one = await console.pipeline.api("GET", f"/api/v1/endpoints/{stored['endpoint_id']}")
    assert stored["value"] == hook and stored["type"] == "webhook"
    assert "signing_secret" not in stored and "signing_secret" not in one
    assert secret not in json.dumps(stored) + json.dumps(one)
    await page.get_by_role("button", name="Done").click()
    await expect(page.get_by_test_id("secret-value")).to_have_count(0)
    await page.reload()
    await expect(row).to_be_visible()
    assert secret not in await page.content()

    # Test send: it arrives at the sink, signed with that secret; the outcome is shown.
    await row.get_by_role("button", name="Test send").click()
    await expect(row.get_by_role("status")).to_contain_text("SENT")
    await expect(row.get_by_role("status")).to_contain_text("HTTP 200")
    [first] = await _received(console, "console-ep", 1)
    assert signature_verifies(first, secret)
    await console.shot("endpoints")

    # A second one within 5 s: the API's 429 is shown and the button waits it out.
    await row.get_by_role("button", name="Test send").click()
    await expect(row.get_by_role("alert")).to_contain_text("429")
    await expect(row.get_by_role("alert")).to_contain_text("one test send per endpoint")
    await expect(row.get_by_role("button", name="Test send")).to_be_disabled()

    # Preview: alert fields are editable and markup in them is shown as text.
    await row.get_by_role("button", name="Preview").click()
    await expect(page.get_by_label("Severity")).to_have_value("HIGH")
    await page.get_by_label("Status").select_option("resolved")
    await page.get_by_label("Alert name").fill("<b>x</b>")
    await page.get_by_label("Context (one key=value per line)").fill("host=db-1\nnote=<i>hi</i>")
    await page.get_by_role("button", name="Render preview").click()
    rendered = page.get_by_test_id("rendered-body")
    await expect(rendered).to_contain_text('"name": "<b>x</b>"')
    await expect(rendered).to_contain_text('"note": "<i>hi</i>"')
    await expect(rendered.locator("b, i")).to_have_count(0)
    await expect(page.get_by_label("Alert name")).to_have_value("<b>x</b>")  # kept as typed
    await expect(rendered).to_contain_text('"status": "resolved"')
    await expect(page.get_by_label("Severity")).to_have_value("HIGH")
    await console.shot("endpoint-preview")
    await page.get_by_role("button", name="Close preview").click()
    assert len(await console.pipeline.received("console-ep")) == 1  # a preview sends nothing

    # Rotate: a new secret, shown once; the next test send verifies with it.
    await row.get_by_role("button", name="Rotate secret").click()
    await expect(page.get_by_test_id("secret-note")).to_contain_text("keeps signing")
    rotated = (await page.get_by_test_id("secret-value").inner_text()).strip()
    assert rotated.startswith("whsec_") and rotated != secret
    await page.get_by_role("button", name="Done").click()
    await expect(row.get_by_role("button", name="Test send")).to_be_enabled(timeout=WAIT_MS)
    await row.get_by_role("button", name="Test send").click()
    await expect(row.get_by_role("status")).to_contain_text("SENT")
    second = (await _received(console, "console-ep", 2))[1]
    assert signature_verifies(second, rotated)
    assert any("confirm: Rotate" in d for d in console.dialogs)

    # Disable: shown, and held by the API.
    await row.get_by_role("button", name="Disable").click()
    await expect(row.get_by_text("disabled", exact=True)).to_be_visible()
    await expect(row.get_by_role("button", name="Enable")).to_be_visible()
    [stored] = await _endpoints(console, rule_id)
    assert stored["enabled"] is False

    # Edit: send_resolved off and a rate override.
    await row.get_by_role("button", name="Edit").click()
    edit = page.get_by_role("form", name="Edit endpoint")
    await edit.get_by_label("Send resolved notifications").uncheck()
    await edit.get_by_label("Rate per second").fill("0.5")
    await edit.get_by_role("button", name="Save endpoint").click()
    await expect(row).to_contain_text("0.5/s")
    await expect(row).to_contain_text("not sent")
    [stored] = await _endpoints(console, rule_id)
    assert stored["send_resolved"] is False and stored["rate_per_s"] == 0.5

    # Delete, confirmed.
    await row.get_by_role("button", name="Delete").click()
    await expect(page.get_by_text("This rule has no endpoints yet")).to_be_visible()
    assert await _endpoints(console, rule_id) == []


async def test_slack_endpoint_refused_url_is_shown_on_its_field(console: Console) -> None:
    page = console.page
    rule_id = await _rule(console)
    await console.sign_in(console.admin_token)
    await console.view("Endpoints")
    await expect(page.get_by_text("Choose a rule")).to_have_count(2)  # option and hint
    # The rule picker puts the rule in the URL (a shareable link).
    await page.get_by_label("Rule").select_option(rule_id)
    await expect(page).to_have_url(f"{console.url}/endpoints?rule_id={rule_id}")

    await page.get_by_label("Type").select_option(label="Slack")
    url = page.get_by_label("Slack incoming-webhook URL")
    await expect(url).to_have_attribute(
        "placeholder", "https://hooks.slack.com/services/T000/B000/XXXX"
    )
    await expect(page.get_by_label("Template text")).to_be_attached()
    await url.fill("ftp://hooks.slack.com/services/T0/B0/secret")
    await page.get_by_role("button", name="Add endpoint").click()
    await expect(url).to_have_attribute("aria-invalid", "true")
    await expect(url).to_have_accessible_description("URL must be an http or https URL")
    assert await _endpoints(console, rule_id) == []

    # The URL fixed, a template that does not compile: its 422 is on the template.
    await url.fill("https://hooks.slack.com/services/T0/B0/secret")
    await page.get_by_text("Templates (optional)").click()
    template = page.get_by_label("Template text")
    await template.fill("{{ name ")
    await page.get_by_role("button", name="Add endpoint").click()
    await expect(template).to_have_attribute("aria-invalid", "true")
    await expect(url).not_to_have_attribute("aria-invalid", "true")
    assert await _endpoints(console, rule_id) == []
    await template.fill("*{{ name }}* on {{ source }}")
    await page.get_by_role("button", name="Add endpoint").click()
    slack_url = "https://hooks.slack.com/services/T0/B0/secret"
    row = page.get_by_role("row").filter(has_text="Slack")
    # The URL is a credential: masked (scheme, host, last 4) until Reveal is pressed.
    await expect(row).to_contain_text("https://hooks.slack.com/…cret")
    assert slack_url not in await page.locator("body").inner_text()
    reveal = row.get_by_role("button", name="Reveal")
    await expect(reveal).to_have_attribute("aria-pressed", "false")
    await reveal.click()
    await expect(reveal).to_have_attribute("aria-pressed", "true")
    await expect(row).to_contain_text(slack_url)
    await reveal.click()
    await expect(row).not_to_contain_text(slack_url)
    await expect(row.get_by_role("button", name="Rotate secret")).to_have_count(0)
    await expect(page.get_by_test_id("secret-value")).to_have_count(0)  # Slack: no secret
    [stored] = await _endpoints(console, rule_id)
    assert stored["type"] == "slack" and stored["enabled"] is True
    assert stored["templates"] == {"text": "*{{ name }}* on {{ source }}"}

    # PagerDuty takes a routing key: a write-only field, never returned.
    await page.get_by_label("Type").select_option(label="PagerDuty")
    await expect(page.get_by_label("Template text")).to_have_count(0)  # takes none
    await page.get_by_label("PagerDuty Events API URL").fill(PAGERDUTY)
    await page.get_by_label("Routing key").fill(ROUTING_KEY)
    await expect(page.get_by_label("Routing key")).to_have_attribute("type", "password")
    await page.get_by_role("button", name="Add endpoint").click()
    await expect(page.get_by_role("row").filter(has_text=PAGERDUTY)).to_contain_text("PagerDuty")
    await expect(page.get_by_test_id("secret-value")).to_have_count(0)
    listed = await _endpoints(console, rule_id)
    assert sorted(e["type"] for e in listed) == ["pagerduty", "slack"]
    assert ROUTING_KEY not in json.dumps(listed)

    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await page.reload()
    await expect(row.get_by_role("button", name="Test send")).to_be_visible()
    await console.shot("phone-endpoints")


async def test_email_and_teams_endpoints_are_created_from_the_form(console: Console) -> None:
    """The two channels the other tests do not create: an email address with a subject
    template, and a Teams workflow URL, masked like Slack's (it is a credential)."""
    page = console.page
    rule_id = await _rule(console)
    await console.sign_in(console.admin_token)
    await console.open(f"/endpoints?rule_id={rule_id}")
    await expect(page.get_by_text("This rule has no endpoints yet")).to_be_visible()

    await page.get_by_label("Type").select_option(label="Email")
    await page.get_by_label("Email address").fill("oncall@example.com")
    await page.get_by_text("Templates (optional)").click()
    await page.get_by_label("Template subject").fill("[{{ severity }}] {{ name }}")
    await page.get_by_role("button", name="Add endpoint").click()
    email_row = page.get_by_role("row").filter(has_text="oncall@example.com")
    await expect(email_row).to_contain_text("enabled")
    await expect(page.get_by_test_id("secret-value")).to_have_count(0)  # email: no secret

    await page.get_by_label("Type").select_option(label="Microsoft Teams")
    await page.get_by_label("Teams workflow webhook URL").fill(TEAMS)
    await page.get_by_role("button", name="Add endpoint").click()
    teams_row = page.get_by_role("row").filter(has_text="logic.azure.com")
    await expect(teams_row).to_contain_text("enabled")
    assert TEAMS not in await page.locator("body").inner_text()  # masked until revealed

    stored = {e["type"]: e for e in await _endpoints(console, rule_id)}
    assert sorted(stored) == ["email", "teams"]
    assert stored["email"]["value"] == "oncall@example.com"
    assert stored["email"]["templates"] == {"subject": "[{{ severity }}] {{ name }}"}
    assert stored["teams"]["value"] == TEAMS
    await console.shot("endpoints-email-teams")


async def test_endpoint_disabled_by_the_platform_shows_why_and_when(console: Console) -> None:
    page = console.page
    pipeline = console.pipeline
    hook = f"{pipeline.hook_base}/gone"
    tenant = await pipeline.create_tenant(
        "gone", rules=[("HIGH", "db", "*")], endpoints=[("webhook", hook)], wait=10
    )
    rule_id = tenant.rule_ids[0]
    await pipeline.http.put(f"{pipeline.sinks.url}/script/gone", json={"statuses": [410]})
    await pipeline.post_alerts([{"severity": "HIGH", "source": "db", "name": "down"}])

    async def disabled() -> dict[str, Any] | None:
        [e] = await _endpoints(console, rule_id)
        return e if not e["enabled"] else None

    stored = await eventually(disabled, 30, "the endpoint disabled after a 410")
    assert "410" in stored["disabled_reason"]

    # A client key sees its own rule's endpoint, disabled, with the platform's reason.
    await console.sign_in(tenant.token)
    await console.open(f"/endpoints?rule_id={rule_id}")
    row = page.get_by_role("row").filter(has_text=hook)
    await expect(row.get_by_text("disabled", exact=True)).to_be_visible()
    await expect(row).to_contain_text(f"by the platform: {stored['disabled_reason']}")
    await expect(row.locator("time")).to_have_count(2)  # disabled at, updated at
    await console.shot("endpoint-disabled")

    await row.get_by_role("button", name="Enable").click()
    await expect(row.get_by_text("enabled", exact=True)).to_be_visible()
    await expect(row).not_to_contain_text("by the platform")
    [e] = await _endpoints(console, rule_id)
    assert e["enabled"] is True and e["disabled_reason"] is None


async def test_edit_sends_only_changes_refuses_unreadable_rate_and_takes_focus(
    console: Console,
) -> None:
    page = console.page
    api = console.pipeline.api
    rule_id = await _rule(console)
    hook = f"{console.pipeline.hook_base}/edit-ep"
    made = await api(
        "POST",
        f"/api/v1/rules/{rule_id}/endpoints",
        json={"type": "webhook", "value": hook, "rate_per_s": 1},
    )
    path = f"/api/v1/endpoints/{made['endpoint_id']}"
    await console.sign_in(console.admin_token)
    await console.open(f"/endpoints?rule_id={rule_id}")
    row = page.get_by_role("row").filter(has_text=hook)
    await expect(row).to_contain_text("1/s")

    # Opened with the keyboard: the form is right under its row and has the focus.
    await row.get_by_role("button", name="Edit").focus()
    await page.keyboard.press("Enter")
    edit = page.get_by_role("form", name="Edit endpoint")
    await expect(edit.get_by_role("heading", name="Edit Webhook endpoint")).to_be_focused()
    assert await row.evaluate("r => r.nextElementSibling.contains(document.activeElement)"), (
        "the edit form is not in the row under the endpoint's"
    )
    await expect(row).to_have_attribute("aria-current", "true")
    await console.shot("endpoint-edit")

    # Meanwhile someone changes the rate through the API.
    await api("PATCH", path, json={"rate_per_s": 3, "rate_burst": 6})

    # A rate the browser cannot read is refused on its field, not sent as "default".
    rate = edit.get_by_label("Rate per second")
    await rate.clear()
    # "1e" (an exponent cut short): Chromium keeps it but cannot read it, so the field's
    # value is "" to scripts, as for "1,5" where a comma is not the decimal separator
    # (in this en-US browser Chromium drops the comma as it is typed).
    await rate.press_sequentially("1e")
    assert await rate.evaluate("el => el.validity.badInput")
    await edit.get_by_role("button", name="Save endpoint").click()
    await expect(rate).to_have_attribute("aria-invalid", "true")
    await expect(rate).to_have_accessible_description(re.compile("not a number"))
    stored = await api("GET", path)
    assert stored["rate_per_s"] == 3 and stored["rate_burst"] == 6

    # Rate back as loaded, only the URL changed: the other change survives.
    await rate.fill("1")
    moved = f"{console.pipeline.hook_base}/edit-ep-2"
    await edit.get_by_label("Webhook URL").fill(moved)
    await edit.get_by_role("button", name="Save endpoint").click()
    await expect(edit).to_have_count(0)
    moved_row = page.get_by_role("row").filter(has_text=moved)
    await expect(moved_row).to_contain_text("3/s, burst 6")
    await expect(moved_row).not_to_have_attribute("aria-current", "true")
    stored = await api("GET", path)
    assert stored["value"] == moved
    assert (stored["rate_per_s"], stored["rate_burst"], stored["send_resolved"]) == (3, 6, True)

    # The preview, opened with the keyboard, takes the focus too.
    await moved_row.get_by_role("button", name="Preview").focus()
    await page.keyboard.press("Enter")
    preview = page.get_by_role("heading", name=re.compile("^Preview of webhook"))
    await expect(preview).to_be_focused()
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await expect(preview).to_be_visible()
    await console.shot("phone-endpoint-preview")
