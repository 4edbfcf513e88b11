"""A channel's caller-supplied credential over the real API and Postgres: a PagerDuty
routing key is required, validated, stored sealed, replaced by PATCH and never returned
(not even by the create answer); other channels refuse one; another tenant sees nothing.
The OpenAPI document lists the new channels and marks the field write-only."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import pytest

from alerting.config import Settings
from alerting.sealed import ENDPOINT_SIGNING_SECRET, Keyring, is_sealed
from alerting.services.rule_service.repo.sql import Executor
from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, NewClient, RunningService

pytestmark = pytest.mark.integration

KEY = "R0ut1ngKeyR0ut1ngKeyR0ut1ngKey32"
OTHER_KEY = "0therKey0therKey0therKey0therKey"
EVENTS = "https://events.pagerduty.com/v2/enqueue"
PROBLEM = "application/problem+json"


async def new_rule(api: Api, client_id: str) -> str:
    rule_body = {"client_id": client_id, "severity": "HIGH", "source": "payments", "name": "*"}
    rule = await api.ok("POST", "/api/v1/rules", 201, json=rule_body)
    return f"/api/v1/rules/{rule['rule_id']}/endpoints"


async def pagerduty_of_new_client(new_client: NewClient) -> tuple[Api, dict[str, Any]]:
    """A new client's API and its new PagerDuty endpoint (routing key ``KEY``)."""
    cid, api = await new_client()
    create = {"type": "pagerduty", "value": EVENTS, "secret": KEY}
    created: dict[str, Any] = await api.ok("POST", await new_rule(api, cid), 201, json=create)
    return api, created


def refusal(response: Any, field: str) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    [error] = response.json()["errors"]
    assert error["field"] == field
    message: str = error["message"]
    return message


async def stored_secret(conn: Executor, endpoint_id: str) -> str:
    stored: str = await conn.fetchval(
        "SELECT signing_secret FROM endpoints WHERE endpoint_id = $1", uuid.UUID(endpoint_id)
    )
    return stored


def opened(service: RunningService, stored: str, endpoint_id: str) -> str:
    keyring = Keyring.from_settings(service.settings)
    return keyring.open(stored, ENDPOINT_SIGNING_SECRET.binding(uuid.UUID(endpoint_id)))


async def test_a_routing_key_is_accepted_sealed_and_never_returned(
    new_client: NewClient, service: RunningService, rs_pg: asyncpg.Connection[Any]
) -> None:
    cid, api = await new_client()
    of_rule = await new_rule(api, cid)
    create = {"type": "pagerduty", "value": EVENTS, "secret": KEY}
    response = await api.post(of_rule, json=create)
    assert response.status_code == 201, response.text
    assert KEY not in response.text
    created = response.json()
    assert created["type"] == "pagerduty" and created["value"] == EVENTS
    assert created["signing_secret"] is None  # supplied, so not shown back
    endpoint_id = created["endpoint_id"]
    one = f"/api/v1/endpoints/{endpoint_id}"
    for path in (one, of_rule):
        answer = await api.get(path)
        assert answer.status_code == 200 and KEY not in answer.text
    stored = await stored_secret(rs_pg, endpoint_id)
    assert is_sealed(stored) and KEY not in stored
    assert opened(service, stored, endpoint_id) == KEY

    patched = await api.patch(one, json={"secret": OTHER_KEY})
    assert patched.status_code == 200 and OTHER_KEY not in patched.text
    replaced = await stored_secret(rs_pg, endpoint_id)
    assert is_sealed(replaced) and opened(service, replaced, endpoint_id) == OTHER_KEY
    # Changing something else leaves the key alone.
    await api.ok("PATCH", one, 200, json={"enabled": False})
    assert opened(service, await stored_secret(rs_pg, endpoint_id), endpoint_id) == OTHER_KEY
    # The audit trail says it was replaced, never what to.
    audit = await rs_pg.fetch(
        "SELECT action, details FROM audit_log WHERE resource_id = $1 ORDER BY at", endpoint_id
    )
    assert [r["action"] for r in audit] == ["endpoint.create", "endpoint.update", "endpoint.update"]
    details = [json.loads(r["details"]) for r in audit]  # this connection's jsonb is text
    assert [d.get("secret_replaced") for d in details] == [None, True, False]
    assert all(KEY not in r["details"] and OTHER_KEY not in r["details"] for r in audit)


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (None, "required: a PagerDuty routing key (the 32 letters or digits of an Events API"
               " v2 integration's key)"),
        ("short", "not a PagerDuty routing key: expected the 32 letters or digits of an"
                  " Events API v2 integration's key"),
        ("x" * 31 + "!", "not a PagerDuty routing key: expected the 32 letters or digits of"
                         " an Events API v2 integration's key"),
    ],
)  # fmt: skip
async def test_a_pagerduty_endpoint_without_a_valid_key_is_a_422(
    new_client: NewClient, secret: str | None, message: str
) -> None:
    cid, api = await new_client()
    of_rule = await new_rule(api, cid)
    body = {"type": "pagerduty", "value": EVENTS}
    if secret is not None:
        body["secret"] = secret
    response = await api.post(of_rule, json=body)
    assert refusal(response, "secret") == message
    if secret is not None:
        assert secret not in response.text  # never quoted back
    assert (await api.ok("GET", of_rule, 200))["items"] == []


async def test_other_channels_take_no_secret_and_a_patch_is_validated_too(
    new_client: NewClient,
) -> None:
    cid, api = await new_client()
    of_rule = await new_rule(api, cid)
    hook = {"type": "webhook", "value": "http://127.0.0.1:9/h", "secret": KEY}
    assert (
        refusal(await api.post(of_rule, json=hook), "secret")
        == "a webhook endpoint takes no secret"
    )
    slack = await api.ok(
        "POST", of_rule, 201, json={"type": "slack", "value": "https://h.example/s"}
    )
    slack_one = f"/api/v1/endpoints/{slack['endpoint_id']}"
    assert refusal(await api.patch(slack_one, json={"secret": KEY}), "secret") == (
        "a slack endpoint takes no secret"
    )
    pager = await api.ok(
        "POST", of_rule, 201, json={"type": "pagerduty", "value": EVENTS, "secret": KEY}
    )
    pager_one = f"/api/v1/endpoints/{pager['endpoint_id']}"
    assert refusal(await api.patch(pager_one, json={"secret": "nope"}), "secret").startswith(
        "not a PagerDuty routing key"
    )
    assert refusal(await api.patch(pager_one, json={"secret": ""}), "secret")  # too short


async def test_a_new_url_takes_the_key_with_it_or_is_refused(
    new_client: NewClient, service: RunningService, rs_pg: asyncpg.Connection[Any]
) -> None:
    """Else whoever may PATCH points the stored key at their server and reads it from a
    test send: only someone who has the key may send it elsewhere."""
    api, created = await pagerduty_of_new_client(new_client)
    endpoint_id = created["endpoint_id"]
    one = f"/api/v1/endpoints/{endpoint_id}"
    elsewhere = "http://127.0.0.1:9/collect"
    assert refusal(await api.patch(one, json={"value": elsewhere}), "value") == (
        "a pagerduty endpoint's URL is changed only with its secret (a PagerDuty routing"
        " key) in the same request: the secret is sent to that URL"
    )
    assert (await api.ok("GET", one, 200))["value"] == EVENTS
    # The same URL is no change; another field alone is fine.
    await api.ok("PATCH", one, 200, json={"value": EVENTS, "send_resolved": False})
    moved = await api.ok("PATCH", one, 200, json={"value": elsewhere, "secret": OTHER_KEY})
    assert moved["value"] == elsewhere
    assert opened(service, await stored_secret(rs_pg, endpoint_id), endpoint_id) == OTHER_KEY


async def test_replacing_only_the_key_is_an_update_of_the_endpoint(new_client: NewClient) -> None:
    api, created = await pagerduty_of_new_client(new_client)
    one = f"/api/v1/endpoints/{created['endpoint_id']}"
    patched = await api.ok("PATCH", one, 200, json={"secret": OTHER_KEY})
    assert patched["updated_at"] > created["updated_at"]  # same format: ISO 8601, UTC
    assert (await api.ok("GET", one, 200))["updated_at"] == patched["updated_at"]


async def waiting_on_locks(conn: asyncpg.Connection[Any], count: int) -> None:
    """Until ``count`` sessions wait on a lock (``conn`` outside a transaction: inside one,
    pg_stat_activity is a snapshot that never changes)."""
    for _ in range(200):
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        )
        if waiting >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} sessions never waited on the row lock")


async def test_concurrent_patches_of_different_fields_both_land(
    new_client: NewClient, rs_settings: Settings, rs_pg: asyncpg.Connection[Any]
) -> None:
    cid, api = await new_client()
    created = await api.ok(
        "POST", await new_rule(api, cid), 201,
        json={"type": "webhook", "value": "http://127.0.0.1:9/h"},
    )  # fmt: skip
    one = f"/api/v1/endpoints/{created['endpoint_id']}"
    templates = {"body": '{"name": {{ name }}}'}
    holder = await asyncpg.connect(rs_settings.postgres_dsn)
    try:
        # Hold the row so both PATCHes are in flight at once, then let them go.
        async with holder.transaction():
            await holder.execute(
                "SELECT 1 FROM endpoints WHERE endpoint_id = $1 FOR UPDATE",
                uuid.UUID(created["endpoint_id"]),
            )
            patches = [
                asyncio.create_task(api.patch(one, json={"send_resolved": False})),
                asyncio.create_task(api.patch(one, json={"templates": templates})),
            ]
            await waiting_on_locks(rs_pg, 2)
        answers = await asyncio.gather(*patches)
    finally:
        await holder.close()
    assert [a.status_code for a in answers] == [200, 200]
    final = await api.ok("GET", one, 200)
    assert (final["send_resolved"], final["templates"]) == (False, templates)


async def test_the_preview_shows_where_the_key_goes_never_the_key(new_client: NewClient) -> None:
    api, created = await pagerduty_of_new_client(new_client)
    preview = await api.ok("POST", f"/api/v1/endpoints/{created['endpoint_id']}/preview", 200)
    event = json.loads(preview["rendered"]["body"])
    assert event["routing_key"] == "<PagerDuty routing key>"
    assert KEY not in json.dumps(preview)


async def test_another_tenant_cannot_see_or_replace_a_key(
    new_client: NewClient, service: RunningService, rs_pg: asyncpg.Connection[Any]
) -> None:
    cid, api = await new_client()
    _, stranger = await new_client("x")
    of_rule = await new_rule(api, cid)
    created = await api.ok(
        "POST", of_rule, 201, json={"type": "pagerduty", "value": EVENTS, "secret": KEY}
    )
    one = f"/api/v1/endpoints/{created['endpoint_id']}"
    assert (await stranger.get(one)).status_code == 404
    assert (await stranger.patch(one, json={"secret": OTHER_KEY})).status_code == 404
    assert (await stranger.get(of_rule)).status_code == 404
    stored = await stored_secret(rs_pg, created["endpoint_id"])
    assert opened(service, stored, created["endpoint_id"]) == KEY


async def test_openapi_lists_the_channels_and_a_write_only_secret(admin: Api) -> None:
    doc = await admin.ok("GET", "/openapi.json", 200)
    schemas = doc["components"]["schemas"]
    for model in ("EndpointCreate", "Endpoint"):
        assert schemas[model]["properties"]["type"]["enum"] == [
            "email", "pagerduty", "slack", "teams", "webhook",
        ]  # fmt: skip
    for model in ("EndpointCreate", "EndpointUpdate"):
        [secret, _] = schemas[model]["properties"]["secret"]["anyOf"]
        assert secret["writeOnly"] is True and secret["format"] == "password"
    for model in ("Endpoint", "EndpointCreated"):
        assert "secret" not in schemas[model]["properties"]
