"""rule-service text fields follow ingest's character policy (``alerting.domain.text``):
control characters, line separators and bidi overrides are a 422 naming the field and
the character, as at ingest; a tab only where ingest allows one (free text)."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, NewClient

pytestmark = pytest.mark.integration
LF = "control character U+000A (LF) is not allowed"
CR = "control character U+000D (CR) is not allowed"
ESC = "control character U+001B (ESC) is not allowed"
TAB = "control character U+0009 (TAB) is not allowed"
NEL = "control character U+0085 (NEL) is not allowed"
RLO = "bidi control U+202E is not allowed"
LSEP = "line separator U+2028 is not allowed"
BLANK = "must not be only whitespace"


def assert_refused(response, field: str, message: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert {"field": field, "message": message} in errors, errors


@pytest.mark.parametrize(
    ("name", "message"),
    [("Acme\nInc", LF), ("Acme\u202eInc", RLO), ("Acme\tInc", TAB), ("   ", BLANK)],
)
async def test_client_names(admin: Api, name: str, message: str) -> None:
    cid = f"t-{uuid.uuid4().hex[:8]}"
    assert_refused(
        await admin.post("/api/v1/clients", json={"client_id": cid, "name": name}), "name", message
    )
    await admin.ok("POST", "/api/v1/clients", 201, json={"client_id": cid, "name": "Acme"})
    assert_refused(
        await admin.patch(f"/api/v1/clients/{cid}", json={"name": name}), "name", message
    )


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("source", "pay\r\nrules: forged", CR),
        ("source", "pay\u2028ments", LSEP),
        ("name", "disk\x1b[31m", ESC),
        ("name", "disk\u0085full", NEL),
        ("name", "disk\u202efull", RLO),
        ("name", "\t", TAB),
        ("source", " ", BLANK),
    ],
)
async def test_rule_patterns_and_match_requests(
    new_client: NewClient, field: str, text: str, message: str
) -> None:
    client_id, api = await new_client("t")
    body = {
        "client_id": client_id,
        "severity": "HIGH",
        "source": "pay",
        "name": "disk",
        field: text,
    }
    assert_refused(await api.post("/api/v1/rules", json=body), field, message)
    created = await api.ok("POST", "/api/v1/rules", 201, json={**body, field: "ok"})
    patch = {"version": created["version"], field: text}
    assert_refused(
        await api.patch(f"/api/v1/rules/{created['rule_id']}", json=patch), field, message
    )
    match = {"severity": "HIGH", "source": "pay", "name": "disk", field: text}
    assert_refused(await api.post("/api/v1/match", json=match), field, message)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ops@example.com\r\nBcc: all@example.com", CR),
        ("ops\u202e@example.com", RLO),
        ("ops@example.com\t", TAB),
    ],
)
async def test_endpoint_values(new_client: NewClient, value: str, message: str) -> None:
    client_id, api = await new_client("t")
    rule = {"client_id": client_id, "severity": "HIGH", "source": "s", "name": "*"}
    created = await api.ok("POST", "/api/v1/rules", 201, json=rule)
    path = f"/api/v1/rules/{created['rule_id']}/endpoints"
    assert_refused(await api.post(path, json={"type": "email", "value": value}), "value", message)
    endpoint = await api.ok("POST", path, 201, json={"type": "email", "value": "ops@example.com"})
    patched = await api.patch(f"/api/v1/endpoints/{endpoint['endpoint_id']}", json={"value": value})
    assert_refused(patched, "value", message)


@pytest.mark.parametrize(
    ("text", "message"),
    [("rotation\nsecond line", LF), ("k\u2066", "bidi control U+2066 is not allowed")],
)
async def test_key_descriptions(admin: Api, new_client: NewClient, text: str, message: str) -> None:
    client_id, _ = await new_client("t")
    client_keys = f"/api/v1/clients/{client_id}/api-keys"
    assert_refused(
        await admin.post(client_keys, json={"description": text}), "description", message
    )
    ingest = {"scope": "ingest", "description": text}
    assert_refused(await admin.post("/api/v1/api-keys", json=ingest), "description", message)


async def test_a_tab_in_a_key_description_is_free_text_and_kept(admin: Api) -> None:
    created = await admin.ok(
        "POST", "/api/v1/api-keys", 201, json={"scope": "ingest", "description": "ci\tdeploys"}
    )
    assert created["description"] == "ci\tdeploys"
