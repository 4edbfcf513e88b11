"""An endpoint's delivery rate override over the real API and Postgres: set at creation,
returned, changed part by part by PATCH, cleared by null (back to the channel's
default), validated with a 422 naming the field, invisible to another tenant, and in
the OpenAPI document. The sender's side: tests/integration/test_sender_limits.py."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, NewClient
from tests.integration.test_endpoint_credentials import new_rule, refusal

pytestmark = pytest.mark.integration

HOOK = "http://127.0.0.1:9/rated"


async def stored_rate(conn: asyncpg.Connection[Any], endpoint_id: str) -> tuple[Any, Any]:
    row = await conn.fetchrow(
        "SELECT rate_per_s, rate_burst FROM endpoints WHERE endpoint_id = $1",
        uuid.UUID(endpoint_id),
    )
    assert row is not None
    return row["rate_per_s"], row["rate_burst"]


async def test_a_rate_is_set_returned_changed_and_cleared(
    new_client: NewClient, rs_pg: asyncpg.Connection[Any]
) -> None:
    cid, api = await new_client()
    of_rule = await new_rule(api, cid)
    created = await api.ok(
        "POST", of_rule, 201, json={"type": "webhook", "value": HOOK, "rate_per_s": 2.5}
    )
    assert (created["rate_per_s"], created["rate_burst"]) == (2.5, None)
    one = f"/api/v1/endpoints/{created['endpoint_id']}"
    assert await stored_rate(rs_pg, created["endpoint_id"]) == (2.5, None)

    # Absent keeps a part, given changes it, null clears it.
    changed = await api.ok("PATCH", one, 200, json={"rate_burst": 10})
    assert (changed["rate_per_s"], changed["rate_burst"]) == (2.5, 10)
    changed = await api.ok("PATCH", one, 200, json={"rate_per_s": None, "enabled": True})
    assert (changed["rate_per_s"], changed["rate_burst"]) == (None, 10)
    fetched = await api.ok("GET", one, 200)
    assert (fetched["rate_per_s"], fetched["rate_burst"]) == (None, 10)
    listed = (await api.ok("GET", of_rule, 200))["items"]
    assert [(e["rate_per_s"], e["rate_burst"]) for e in listed] == [(None, 10)]
    await api.ok("PATCH", one, 200, json={"rate_burst": None})
    assert await stored_rate(rs_pg, created["endpoint_id"]) == (None, None)

    # The floor itself is accepted: one delivery per 100 s.
    slowest = await api.ok("PATCH", one, 200, json={"rate_per_s": 0.01})
    assert (slowest["rate_per_s"], slowest["rate_burst"]) == (0.01, None)
    await api.ok("PATCH", one, 200, json={"rate_per_s": None})

    slack = await api.ok("POST", of_rule, 201, json={"type": "slack", "value": HOOK})
    assert (slack["rate_per_s"], slack["rate_burst"]) == (None, None)  # Slack's default


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rate_per_s": 0}, "rate_per_s"),
        ({"rate_per_s": 0.0099}, "rate_per_s"),  # below one delivery per 100 s
        ({"rate_per_s": 1e-9}, "rate_per_s"),
        ({"rate_per_s": -1}, "rate_per_s"),
        ({"rate_per_s": 100_001}, "rate_per_s"),
        ({"rate_per_s": "fast"}, "rate_per_s"),
        ({"rate_burst": 0}, "rate_burst"),
        ({"rate_burst": 1.5}, "rate_burst"),
        ({"rate_burst": "3"}, "rate_burst"),
        ({"rate_burst": 100_001}, "rate_burst"),
    ],
)
async def test_a_rate_outside_the_bounds_is_a_422_naming_the_field(
    new_client: NewClient, body: dict[str, Any], field: str
) -> None:
    cid, api = await new_client()
    of_rule = await new_rule(api, cid)
    assert refusal(await api.post(of_rule, json={"type": "webhook", "value": HOOK, **body}), field)
    assert (await api.ok("GET", of_rule, 200))["items"] == []
    created = await api.ok("POST", of_rule, 201, json={"type": "webhook", "value": HOOK})
    one = f"/api/v1/endpoints/{created['endpoint_id']}"
    assert refusal(await api.patch(one, json=body), field)
    unchanged = await api.ok("GET", one, 200)
    assert (unchanged["rate_per_s"], unchanged["rate_burst"]) == (None, None)


async def test_another_tenant_cannot_change_a_rate(
    new_client: NewClient, rs_pg: asyncpg.Connection[Any]
) -> None:
    cid, api = await new_client()
    _, stranger = await new_client("x")
    of_rule = await new_rule(api, cid)
    created = await api.ok(
        "POST", of_rule, 201, json={"type": "webhook", "value": HOOK, "rate_per_s": 1}
    )
    one = f"/api/v1/endpoints/{created['endpoint_id']}"
    assert (await stranger.patch(one, json={"rate_per_s": 500})).status_code == 404
    assert await stored_rate(rs_pg, created["endpoint_id"]) == (1.0, None)


async def test_openapi_describes_the_rate_fields(admin: Api) -> None:
    schemas = (await admin.ok("GET", "/openapi.json", 200))["components"]["schemas"]
    for model in ("EndpointCreate", "EndpointUpdate", "Endpoint", "EndpointCreated"):
        properties = schemas[model]["properties"]
        assert {"rate_per_s", "rate_burst"} <= set(properties), model
    per_s, _ = schemas["EndpointCreate"]["properties"]["rate_per_s"]["anyOf"]
    assert per_s == {"type": "number", "minimum": 0.01, "maximum": 100_000.0}
    burst, _ = schemas["EndpointUpdate"]["properties"]["rate_burst"]["anyOf"]
    assert burst == {"type": "integer", "minimum": 1, "maximum": 100_000}
    assert "channel's default" in schemas["Endpoint"]["properties"]["rate_per_s"]["description"]
