"""GET /api/v1/whoami: how the console checks a token at sign-in and learns what to show."""

from __future__ import annotations

import pytest

from alerting.domain import api_keys
from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, NewClient

pytestmark = pytest.mark.integration
WHOAMI = "/api/v1/whoami"


async def test_the_admin_is_the_admin(admin: Api) -> None:
    assert await admin.ok("GET", WHOAMI, 200) == {
        "kind": "admin",
        "client_id": None,
        "key_prefix": None,
    }


async def test_a_client_key_names_its_client_and_its_prefix(
    admin: Api, new_client: NewClient
) -> None:
    client_id, key = await new_client("who")
    assert key.token is not None
    caller = await key.ok("GET", WHOAMI, 200)
    assert caller["kind"] == "client" and caller["client_id"] == client_id
    assert caller["key_prefix"] == api_keys.prefix_of(key.token)
    # What the console then lists is that one client only.
    listed = await key.ok("GET", "/api/v1/clients", 200)
    assert [c["client_id"] for c in listed["items"]] == [client_id]


async def test_an_ingest_key_is_refused_here(admin: Api) -> None:
    created = await admin.ok("POST", "/api/v1/api-keys", 201, json={"scope": "ingest"})
    refused = await admin.as_token(created["token"]).get(WHOAMI)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert created["token"] not in refused.text


@pytest.mark.parametrize("token", [None, "not-a-token", "alk_" + "x" * 40])
async def test_no_or_a_wrong_token_is_401(admin: Api, token: str | None) -> None:
    refused = await admin.as_token(token).get(WHOAMI)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["www-authenticate"].lower().startswith("bearer")
    if token:
        assert token not in refused.text


async def test_a_revoked_client_key_is_401(admin: Api, new_client: NewClient) -> None:
    client_id, key = await new_client("gone")
    keys = await admin.ok("GET", f"/api/v1/clients/{client_id}/api-keys", 200)
    (only,) = keys["items"]
    await admin.ok("DELETE", f"/api/v1/clients/{client_id}/api-keys/{only['key_id']}", 204)
    assert (await key.get(WHOAMI)).status_code == 401
