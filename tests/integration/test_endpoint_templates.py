"""Endpoint templates against the real rule-service, sinks and sender: validation with
line numbers, preview, test sends (webhook signed as the sender signs, email through
the SMTP sink), and a delivery by the sender process with a stored template."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from alerting.config import Settings
from alerting.sealed import PREFIX
from tests.integration.rule_service_support import (
    Api,
    NewClient,
    admin,
    new_client,
    rs_pg,
    rs_settings,
    rule_pool,
    service,
    start_service,
)
from tests.integration.sender_support import (
    Sender,
    Sinks,
    announce,
    insert_notification,
    seed_rule,
    sender,
    sinks,
)
from tests.pipeline_support import eventually
from tests.webhook_receiver import verified

__all__ = ["admin", "new_client", "rs_pg", "rs_settings", "rule_pool", "sender", "service", "sinks"]
pytestmark = pytest.mark.integration

BODY = '{"summary": {{ title }},\n "host": {{ context.host }}, "test": {{ test }}}'


@pytest.fixture(scope="module")
async def api_with_smtp(
    rs_settings: Settings, rule_pool: asyncpg.Pool[Any], sinks: Sinks
) -> AsyncIterator[str]:
    """A rule-service whose SMTP relay is the sink (test sends of email endpoints)."""
    smtp = dataclasses.replace(rs_settings.smtp, host="127.0.0.1", port=sinks.smtp_port)
    running = await start_service(dataclasses.replace(rs_settings, smtp=smtp), rule_pool)
    try:
        yield running.base_url
    finally:
        await running.close()


async def endpoints_of_new_rule(api: Api, client_id: str) -> str:
    rule = {"client_id": client_id, "severity": "HIGH", "source": "db", "name": "*"}
    created = await api.ok("POST", "/api/v1/rules", 201, json=rule)
    return f"/api/v1/rules/{created['rule_id']}/endpoints"


async def endpoint(api: Api, client_id: str, **fields: Any) -> dict[str, Any]:
    of_rule = await endpoints_of_new_rule(api, client_id)
    created: dict[str, Any] = await api.ok("POST", of_rule, 201, json=fields)
    return created


async def test_a_template_that_does_not_compile_is_a_422_naming_field_and_line(
    new_client: NewClient,
) -> None:
    cid, api = await new_client()
    templates = {"subject": "ok", "body": "one\ntwo\n{{ name }", "footer": "x"}
    bad = {"type": "email", "value": "ops@example.com", "templates": templates}
    response = await api.post(await endpoints_of_new_rule(api, cid), json=bad)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"] == [
        {"field": "templates.body", "message": "line 3: unexpected '}'"},
        {
            "field": "templates.footer",
            "message": "not a template of email endpoints (expected 'subject' or 'body')",
        },
    ]
    assert response.json()["detail"].startswith("templates.body: line 3: unexpected '}'")


async def test_templates_are_stored_returned_replaced_and_cleared(new_client: NewClient) -> None:
    cid, api = await new_client()
    created = await endpoint(
        api, cid, type="webhook", value="http://127.0.0.1:9/x", templates={"body": BODY}
    )
    one = f"/api/v1/endpoints/{created['endpoint_id']}"
    assert created["templates"] == {"body": BODY}
    assert (await api.ok("GET", one, 200))["templates"] == {"body": BODY}
    # A PATCH without templates keeps them; a bad one is refused and changes nothing.
    assert (await api.ok("PATCH", one, 200, json={"enabled": False}))["templates"] == {"body": BODY}
    refused = await api.patch(one, json={"templates": {"body": "{% for %}"}})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "templates.body"
    assert (await api.ok("PATCH", one, 200, json={"templates": None}))["templates"] is None
    assert (await api.ok("GET", one, 200))["templates"] is None


async def test_preview_renders_stored_or_unsaved_templates_and_names_a_failing_line(
    new_client: NewClient, sinks: Sinks
) -> None:
    cid, api = await new_client()
    created = await endpoint(
        api, cid, type="webhook", value=sinks.hook("never"), templates={"body": BODY}
    )
    preview = f"/api/v1/endpoints/{created['endpoint_id']}/preview"
    shown = await api.ok("POST", preview, 200)  # no body: the default sample alert
    assert shown["type"] == "webhook" and shown["templated"] == ["body"]
    assert json.loads(shown["rendered"]["body"]) == {
        "summary": "[FIRING] [HIGH] sample-service: sample_alert",
        "host": "sample-host",
        "test": False,
    }
    sample = {"alert": {"severity": "LOW", "source": "api", "name": "slow", "status": "resolved",
                        "context": {"host": "<b>"}}}  # fmt: skip
    shown = await api.ok("POST", preview, 200, json=sample)
    assert json.loads(shown["rendered"]["body"])["summary"] == "[RESOLVED] [LOW] api: slow"
    failing = await api.post(
        preview, json={"templates": {"body": '{"a": 1}\n{{ name.__class__ }}'}}
    )
    assert failing.status_code == 422
    assert failing.json()["errors"] == [
        {
            "field": "templates.body",
            "message": "line 2: access to attribute '__class__' of a 'str' value is not allowed",
        }
    ]
    assert sinks.requests("never") == []  # a preview sends nothing


async def test_preview_of_an_email_endpoint_shows_subject_and_body(new_client: NewClient) -> None:
    cid, api = await new_client()
    created = await endpoint(
        api, cid, type="email", value="ops@example.com", templates={"subject": "{{ name }}!"}
    )
    shown = await api.ok("POST", f"/api/v1/endpoints/{created['endpoint_id']}/preview", 200)
    assert shown["rendered"]["subject"] == "sample_alert!"
    assert shown["rendered"]["body"].startswith("[FIRING] [HIGH] sample-service: sample_alert\n")
    assert shown["templated"] == ["subject"]


async def test_another_tenants_endpoint_is_not_found_for_preview_and_test(
    new_client: NewClient, sinks: Sinks
) -> None:
    cid, api = await new_client()
    _, other = await new_client()
    created = await endpoint(api, cid, type="webhook", value=sinks.hook("tenant"))
    for action in ("preview", "test"):
        response = await other.post(f"/api/v1/endpoints/{created['endpoint_id']}/{action}")
        assert response.status_code == 404, response.text
    assert sinks.requests("tenant") == []


async def test_a_webhook_test_send_is_signed_marked_and_audited(
    new_client: NewClient, sinks: Sinks, admin: Api
) -> None:
    cid, api = await new_client()
    hook = f"test-{cid}"
    created = await endpoint(api, cid, type="webhook", value=sinks.hook(hook))
    result = await api.ok("POST", f"/api/v1/endpoints/{created['endpoint_id']}/test", 200)
    assert result["outcome"] == "SENT" and result["response_code"] == 200
    assert result["error"] is None
    [request] = sinks.requests(hook)
    body, headers = request["body"], request["headers"]
    assert body["test"] is True and body["notification_id"] == result["notification_id"]
    assert body["client_id"] == cid and body["alert_id"] == "sample-alert"
    assert headers["webhook-id"] == result["notification_id"]
    assert verified(request, created["signing_secret"]) == body
    audit = await admin.ok(
        "GET", "/api/v1/audit", 200, params={"client_id": cid, "action": "endpoint.test"}
    )
    [entry] = audit["items"]
    assert entry["resource_id"] == created["endpoint_id"]
    assert entry["details"]["outcome"] == "SENT"


async def test_a_failing_receiver_is_answered_as_the_attempts_outcome(
    new_client: NewClient, sinks: Sinks
) -> None:
    cid, api = await new_client()
    hook = f"gone-{cid}"
    sinks.script(hook, 404)
    created = await endpoint(api, cid, type="webhook", value=sinks.hook(hook))
    result = await api.ok("POST", f"/api/v1/endpoints/{created['endpoint_id']}/test", 200)
    assert (result["outcome"], result["response_code"], result["error"]) == (
        "FAILED", 404, "HTTP 404"
    )  # fmt: skip


async def test_test_sends_are_throttled_per_endpoint(new_client: NewClient, sinks: Sinks) -> None:
    cid, api = await new_client()
    hook, other_hook = f"throttled-{cid}", f"other-{cid}"
    of_rule = await endpoints_of_new_rule(api, cid)
    created, other = [
        await api.ok("POST", of_rule, 201, json={"type": "webhook", "value": sinks.hook(name)})
        for name in (hook, other_hook)
    ]
    test = f"/api/v1/endpoints/{created['endpoint_id']}/test"
    await api.ok("POST", test, 200)
    again = await api.post(test)
    assert again.status_code == 429, again.text
    assert again.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(again.headers["retry-after"]) <= 5
    assert again.json()["detail"] == "one test send per endpoint every 5 s"
    # Per endpoint: another one may send at once.
    await api.ok("POST", f"/api/v1/endpoints/{other['endpoint_id']}/test", 200)
    assert (len(sinks.requests(hook)), len(sinks.requests(other_hook))) == (1, 1)


async def test_an_email_test_send_goes_through_the_smtp_relay_with_its_template(
    new_client: NewClient, sinks: Sinks, api_with_smtp: str
) -> None:
    cid, api = await new_client()
    address = f"{cid}@example.com"
    created = await endpoint(
        api, cid, type="email", value=address,
        templates={"subject": "{{ severity }} {{ name }}", "body": "host {{ context.host }}\n"},
    )  # fmt: skip
    relay = Api(api_with_smtp, api.token)
    result = await relay.ok("POST", f"/api/v1/endpoints/{created['endpoint_id']}/test", 200)
    assert result["outcome"] == "SENT"
    [mail] = [m for m in sinks.recorder.emails if m["rcpt_tos"] == [address]]
    assert mail["subject"] == "[TEST] HIGH sample_alert"
    assert mail["body"] == "host sample-host\r\n"  # SMTP lines end in CRLF


async def test_the_sender_delivers_with_the_stored_template(sender: Sender, sinks: Sinks) -> None:
    client_id = f"c-{uuid.uuid4().hex[:10]}"
    hook = f"templated-{client_id}"
    rule = await seed_rule(sender.pool, client_id)
    await sender.pool.execute(
        "INSERT INTO endpoints (endpoint_id, rule_id, type, value, templates)"
        " VALUES ($1, $2, 'slack', $3, $4)",
        uuid.uuid4(), uuid.UUID(rule), sinks.hook(hook),
        {"text": "*{{ name }}* on {{ context.region }}"},
    )  # fmt: skip
    nid = await insert_notification(sender.pool, client_id, [rule], name="<!channel> disk")
    await announce(sender.settings, nid, client_id)

    async def delivered() -> list[dict[str, Any]]:
        return sinks.requests(hook)

    [request] = await eventually(delivered)
    assert request["body"]["blocks"][1]["text"]["text"] == "*&lt;!channel&gt; disk* on eu"


async def test_a_secret_that_does_not_open_fails_the_test_send_without_calling(
    new_client: NewClient, sinks: Sinks, rs_pg: asyncpg.Connection[Any]
) -> None:
    cid, api = await new_client()
    hook = f"sealed-{cid}"
    created = await endpoint(api, cid, type="webhook", value=sinks.hook(hook))
    await rs_pg.execute(
        "UPDATE endpoints SET signing_secret = $2 WHERE endpoint_id = $1",
        uuid.UUID(created["endpoint_id"]), f"{PREFIX}gone:AAAA",
    )  # fmt: skip
    result = await api.ok("POST", f"/api/v1/endpoints/{created['endpoint_id']}/test", 200)
    assert result["outcome"] == "RETRY" and result["response_code"] is None
    assert "cannot be opened with ALERTING_SECRET_KEYS" in result["error"]
    assert sinks.requests(hook) == []  # never an unsigned request


async def test_openapi_describes_the_routes_and_the_templates_field(admin: Api) -> None:
    document = await admin.ok("GET", "/openapi.json", 200)
    for action, response in (("preview", "EndpointPreview"), ("test", "TestSendResult")):
        operation = document["paths"][f"/api/v1/endpoints/{{endpoint_id}}/{action}"]["post"]
        assert operation["requestBody"]["required"] is False
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": f"#/components/schemas/{response}"}
        assert {"404", "422", "429"} <= set(operation["responses"])
    test_send = document["paths"]["/api/v1/endpoints/{endpoint_id}/test"]["post"]["summary"]
    assert "(one per endpoint every 5 s, per rule-service replica;" in test_send
    assert test_send.endswith(
        "A 410 Gone from the receiver is answered as FAILED and, unlike"
        " a delivery's, does not disable the endpoint"
    )
    schemas = document["components"]["schemas"]
    for model in ("Endpoint", "EndpointUpdate"):
        assert "templates" in schemas[model]["properties"]
