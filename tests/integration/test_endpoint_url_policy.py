"""The URL policy of a production rule-service (``ALERTING_ALLOW_PRIVATE_URLS`` off) for
what the API alone cannot show in a dev stack: a credential's channel wants https, and a
test send checks the stored URL again before calling it, as the sender does."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from alerting.config import Settings
from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, NewClient, start_service
from tests.integration.sender_support import Sinks, sinks

__all__ = ["sinks"]
pytestmark = pytest.mark.integration

KEY = "R0ut1ngKeyR0ut1ngKeyR0ut1ngKey32"


async def public_resolver(host: str, port: int) -> list[str]:
    return ["93.184.215.14"]  # any name is a public host: only the scheme is in question


@pytest.fixture(scope="module")
async def strict_url(rs_settings: Settings, rule_pool: asyncpg.Pool[Any]) -> AsyncIterator[str]:
    """A rule-service that refuses private addresses, as in production."""
    strict = dataclasses.replace(rs_settings, allow_private_urls=False)
    running = await start_service(strict, rule_pool, public_resolver)
    try:
        yield running.base_url
    finally:
        await running.close()


async def new_rule(api: Api, client_id: str) -> uuid.UUID:
    rule_body = {"client_id": client_id, "severity": "HIGH", "source": "db", "name": "*"}
    return uuid.UUID((await api.ok("POST", "/api/v1/rules", 201, json=rule_body))["rule_id"])


async def test_a_credential_channel_url_must_be_https(
    new_client: NewClient, strict_url: str
) -> None:
    cid, tenant = await new_client()
    api = Api(strict_url, tenant.token)
    of_rule = f"/api/v1/rules/{await new_rule(api, cid)}/endpoints"
    plain = {"type": "pagerduty", "value": "http://events.pagerduty.com/v2/enqueue", "secret": KEY}
    refused = await api.post(of_rule, json=plain)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == [
        {"field": "value", "message": "a pagerduty endpoint's URL must be https"}
    ]
    https = {**plain, "value": "https://events.pagerduty.com/v2/enqueue"}
    created = await api.ok("POST", of_rule, 201, json=https)
    one = f"/api/v1/endpoints/{created['endpoint_id']}"
    patched = await api.patch(one, json={"value": plain["value"], "secret": KEY})
    assert patched.status_code == 422 and "must be https" in patched.text
    # Only a credential's channel: a webhook carries no secret in its request.
    await api.ok("POST", of_rule, 201, json={"type": "webhook", "value": "http://h.example/x"})


async def test_a_test_send_refuses_a_stored_private_url_without_calling_it(
    new_client: NewClient, strict_url: str, sinks: Sinks, rs_pg: asyncpg.Connection[Any]
) -> None:
    cid, tenant = await new_client()
    api = Api(strict_url, tenant.token)
    hook = f"private-{cid}"
    endpoint_id = uuid.uuid4()
    # Stored directly: the API would refuse this value (it resolves to 127.0.0.1), but a
    # row from before a policy change, or a name whose DNS changed since, looks like it.
    await rs_pg.execute(
        "INSERT INTO endpoints (endpoint_id, rule_id, type, value) VALUES ($1, $2, 'slack', $3)",
        endpoint_id, await new_rule(api, cid), sinks.hook(hook),
    )  # fmt: skip
    result = await api.ok("POST", f"/api/v1/endpoints/{endpoint_id}/test", 200)
    assert (result["outcome"], result["response_code"]) == ("FAILED", None)
    assert result["error"].startswith("URL refused"), result["error"]
    assert sinks.requests(hook) == []
