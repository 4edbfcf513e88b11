"""rule-service auth: API keys (shown once, hashed, revocable) and the tenant-isolation
matrix over every resource route."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerting.config import Settings
from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, NewClient

pytestmark = pytest.mark.integration


async def test_client_keys_are_shown_once_stored_hashed_and_revocable(
    admin: Api, new_client: NewClient, rs_pg: Any
) -> None:
    cid, _ = await new_client()
    keys = f"/api/v1/clients/{cid}/api-keys"
    created = await admin.ok("POST", keys, 201, json={"description": "ci"})
    token = created["token"]
    assert token.startswith("alk_") and created["scope"] == "client"
    stored = await rs_pg.fetchrow(
        "SELECT * FROM api_keys WHERE key_id = $1", uuid.UUID(created["key_id"])
    )
    assert stored["secret_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(dict(stored))

    listed = await admin.ok("GET", keys, 200)
    assert created["key_id"] in [k["key_id"] for k in listed["items"]]
    assert all("token" not in k and "secret_hash" not in k for k in listed["items"])

    api = admin.as_token(token)
    await api.ok("GET", "/api/v1/rules", 200)
    used = await rs_pg.fetchval(
        "SELECT last_used_at FROM api_keys WHERE key_id = $1", stored["key_id"]
    )
    assert used is not None

    await api.ok("DELETE", f"{keys}/{created['key_id']}", 204)  # a key may revoke itself
    revoked = await api.get("/api/v1/rules")
    assert revoked.status_code == 401 and revoked.headers["www-authenticate"].startswith("Bearer")
    await admin.ok("DELETE", f"{keys}/{created['key_id']}", 204)  # idempotent
    assert (await admin.delete(f"{keys}/{uuid.uuid4()}")).status_code == 404
    assert (await admin.post(f"/api/v1/clients/nobody-{cid}/api-keys", json={})).status_code == 404
    assert (await admin.get(f"/api/v1/clients/nobody-{cid}/api-keys")).status_code == 404


async def test_ingest_keys(admin: Api) -> None:
    created = await admin.ok("POST", "/api/v1/api-keys", 201, json={"scope": "ingest"})
    assert created["scope"] == "ingest" and created["client_id"] is None
    listed = await admin.ok("GET", "/api/v1/api-keys", 200, params={"scope": "ingest"})
    assert created["key_id"] in [k["key_id"] for k in listed["items"]]
    bad = await admin.post("/api/v1/api-keys", json={"scope": "client"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "scope"
    await admin.ok("DELETE", f"/api/v1/api-keys/{created['key_id']}", 204)
    listed = await admin.ok("GET", "/api/v1/api-keys", 200, params={"scope": "ingest"})
    mine = next(k for k in listed["items"] if k["key_id"] == created["key_id"])
    assert mine["revoked_at"] is not None
    assert (await admin.delete(f"/api/v1/api-keys/{uuid.uuid4()}")).status_code == 404


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Basic abc", "Bearer wrong-token", "Bearer alk_000000000000_x",
     "Bearer alk_short_x", "bearer " + "x" * 600],
)  # fmt: skip
async def test_missing_or_invalid_token_is_401(admin: Api, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    api = admin.as_token(None)
    routes = [
        ("GET", "/api/v1/clients"),
        ("POST", "/api/v1/match"),
        ("GET", "/openapi.json"),
        ("DELETE", f"/api/v1/rules/{uuid.uuid4()}"),
    ]
    for method, path in routes:
        response = await api.request(method, path, headers=headers, json={})
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_health_and_metrics_need_no_token(admin: Api) -> None:
    anonymous = admin.as_token(None)
    assert (await anonymous.get("/healthz")).status_code == 200
    assert (await anonymous.get("/readyz")).status_code == 200
    await admin.ok("GET", "/api/v1/clients", 200)
    metrics = await anonymous.get("/metrics")
    assert (
        'alerting_rule_service_requests_total{method="GET",route="/api/v1/clients",status="200"}'
        in metrics.text
    )
    assert "alerting_rule_service_request_seconds_bucket" in metrics.text


# -- the isolation matrix ------------------------------------------------------------------


@pytest.fixture(scope="module")
async def world(admin: Api, settings: Settings, rule_pool: Any) -> dict[str, Any]:
    """Two tenants with a rule, an endpoint, a notification and a key each; an ingest key."""
    out: dict[str, Any] = {}
    for who in ("mine", "theirs"):
        cid = f"{who}-{uuid.uuid4().hex[:8]}"
        await admin.ok("POST", "/api/v1/clients", 201, json={"client_id": cid, "name": who})
        key = await admin.ok("POST", f"/api/v1/clients/{cid}/api-keys", 201, json={})
        rule = await admin.ok(
            "POST", "/api/v1/rules", 201,
            json={"client_id": cid, "severity": "LOW", "source": "s", "name": "n"},
        )  # fmt: skip
        endpoint = await admin.ok(
            "POST", f"/api/v1/rules/{rule['rule_id']}/endpoints", 201,
            json={"type": "email", "value": f"{who}@example.com"},
        )  # fmt: skip
        notification_id = uuid.uuid4()
        await rule_pool.execute(
            "INSERT INTO notifications (notification_id, client_id, alert_id, severity, source,"
            " name, event_ts, rule_ids, status) VALUES ($1, $2, $3, 'LOW', 's', 'n', now(),"
            " ARRAY[$4::uuid], 'FAILED')",
            notification_id, cid, f"a-{notification_id}", uuid.UUID(rule["rule_id"]),
        )  # fmt: skip
        silence = await admin.ok(
            "POST", "/api/v1/silences", 201,
            json={"client_id": cid, "matchers": [{"name": "source", "op": "=", "value": "s"}],
                  "ends_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
        )  # fmt: skip
        out[who] = {
            "client_id": cid, "token": key["token"], "key_id": key["key_id"],
            "rule_id": rule["rule_id"], "endpoint_id": endpoint["endpoint_id"],
            "notification_id": str(notification_id), "silence_id": silence["silence_id"],
        }  # fmt: skip
    ingest = await admin.ok("POST", "/api/v1/api-keys", 201, json={"scope": "ingest"})
    out["ingest_token"] = ingest["token"]
    out["ingest_key_id"] = ingest["key_id"]
    return out


# Every route that names another tenant's resource: (method, path template, body).
OTHER_TENANT_ROUTES = [
    ("GET", "/api/v1/clients/{client_id}", None),
    ("PATCH", "/api/v1/clients/{client_id}", {"name": "x"}),
    ("GET", "/api/v1/clients/{client_id}/api-keys", None),
    ("DELETE", "/api/v1/clients/{client_id}/api-keys/{key_id}", None),
    ("POST", "/api/v1/rules", "rule-for-other"),
    ("GET", "/api/v1/rules/{rule_id}", None),
    ("PATCH", "/api/v1/rules/{rule_id}", {"version": 1, "enabled": False}),
    ("DELETE", "/api/v1/rules/{rule_id}", None),
    ("POST", "/api/v1/rules/{rule_id}/endpoints", {"type": "email", "value": "x@example.com"}),
    ("GET", "/api/v1/rules/{rule_id}/endpoints", None),
    ("GET", "/api/v1/endpoints/{endpoint_id}", None),
    ("PATCH", "/api/v1/endpoints/{endpoint_id}", {"enabled": False}),
    ("DELETE", "/api/v1/endpoints/{endpoint_id}", None),
    ("GET", "/api/v1/notifications/{notification_id}", None),
    ("GET", "/api/v1/notifications/{notification_id}/attempts", None),
    ("POST", "/api/v1/notifications/{notification_id}/retry", None),
    ("POST", "/api/v1/silences", "silence-for-other"),
    ("GET", "/api/v1/silences/{silence_id}", None),
    ("PATCH", "/api/v1/silences/{silence_id}", {"version": 1, "comment": "mine"}),
    ("DELETE", "/api/v1/silences/{silence_id}", None),
]
ADMIN_ONLY_ROUTES = [
    ("POST", "/api/v1/clients", {"client_id": "sneaky", "name": "x"}),
    ("DELETE", "/api/v1/clients/{own_client_id}", None),
    ("POST", "/api/v1/clients/{own_client_id}/api-keys", {}),
    ("POST", "/api/v1/api-keys", {"scope": "ingest"}),
    ("GET", "/api/v1/api-keys", None),
    ("PATCH", "/api/v1/api-keys/{ingest_key_id}", {"label_mapping": None}),
    ("DELETE", "/api/v1/api-keys/{ingest_key_id}", None),
    ("GET", "/api/v1/audit", None),
]
ALL_ROUTES = [
    *OTHER_TENANT_ROUTES,
    *ADMIN_ONLY_ROUTES,
    ("GET", "/api/v1/clients", None),
    ("GET", "/api/v1/rules", None),
    ("GET", "/api/v1/notifications", None),
    ("GET", "/api/v1/silences", None),
    ("POST", "/api/v1/match", {"severity": "LOW", "source": "s", "name": "n"}),
    ("GET", "/openapi.json", None),
]


def fill(path: str, world: dict[str, Any], who: str = "theirs") -> str:
    return path.format(**world[who], own_client_id=world["mine"]["client_id"],
                       ingest_key_id=world["ingest_key_id"])  # fmt: skip


def body_for(body: Any, world: dict[str, Any]) -> Any:
    if body == "rule-for-other":
        return {"client_id": world["theirs"]["client_id"], "severity": "HIGH", "source": "x",
                "name": "y"}  # fmt: skip
    if body == "silence-for-other":
        return {"client_id": world["theirs"]["client_id"], "ends_at": "2999-01-01T00:00:00Z",
                "matchers": [{"name": "source", "op": "=", "value": "x"}]}  # fmt: skip
    return body


@pytest.mark.parametrize(("method", "path", "body"), OTHER_TENANT_ROUTES)
async def test_client_key_gets_404_for_another_tenants_resource(
    admin: Api, world: dict[str, Any], method: str, path: str, body: Any
) -> None:
    api = admin.as_token(world["mine"]["token"])
    response = await api.request(method, fill(path, world), json=body_for(body, world))
    assert response.status_code == 404, response.text
    # ... and the other tenant's data is untouched.
    theirs = world["theirs"]
    await admin.ok("GET", f"/api/v1/rules/{theirs['rule_id']}", 200)
    endpoint = await admin.ok("GET", f"/api/v1/endpoints/{theirs['endpoint_id']}", 200)
    assert endpoint["enabled"] is True
    keys = await admin.ok("GET", f"/api/v1/clients/{theirs['client_id']}/api-keys", 200)
    assert all(k["revoked_at"] is None for k in keys["items"])
    silence = await admin.ok("GET", f"/api/v1/silences/{theirs['silence_id']}", 200)
    assert silence["version"] == 1 and silence["state"] == "active"


@pytest.mark.parametrize(
    ("method", "path"), [(m, p) for m, p, _ in OTHER_TENANT_ROUTES if m == "GET"]
)
async def test_same_reads_answer_the_owner(
    admin: Api, world: dict[str, Any], method: str, path: str
) -> None:
    """The 404s above are about ownership, not broken routes: the owner is let in."""
    api = admin.as_token(world["theirs"]["token"])
    response = await api.request(method, fill(path, world))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ONLY_ROUTES)
async def test_client_key_gets_403_on_admin_only_routes(
    admin: Api, world: dict[str, Any], method: str, path: str, body: Any
) -> None:
    api = admin.as_token(world["mine"]["token"])
    response = await api.request(method, fill(path, world), json=body)
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(("method", "path", "body"), ALL_ROUTES)
async def test_ingest_key_gets_403_everywhere(
    admin: Api, world: dict[str, Any], method: str, path: str, body: Any
) -> None:
    api = admin.as_token(world["ingest_token"])
    response = await api.request(method, fill(path, world), json=body_for(body, world))
    assert response.status_code == 403, response.text


@pytest.mark.parametrize(("method", "path", "body"), ALL_ROUTES)
async def test_no_token_or_invalid_token_gets_401_everywhere(
    admin: Api, world: dict[str, Any], method: str, path: str, body: Any
) -> None:
    for token in (None, "alk_0123456789ab_not-a-real-secret"):
        api = admin.as_token(token)
        response = await api.request(method, fill(path, world), json=body_for(body, world))
        assert response.status_code == 401, (token, response.text)


@pytest.mark.parametrize(
    "path", ["/api/v1/rules", "/api/v1/notifications", "/api/v1/clients", "/api/v1/silences"]
)
async def test_client_key_lists_only_its_own_and_other_filters_are_empty(
    admin: Api, world: dict[str, Any], path: str
) -> None:
    api = admin.as_token(world["mine"]["token"])
    own = await api.ok("GET", path, 200)
    assert own["items"] and {i["client_id"] for i in own["items"]} == {world["mine"]["client_id"]}
    other = await api.ok("GET", path, 200, params={"client_id": world["theirs"]["client_id"]})
    if path != "/api/v1/clients":  # clients take no client_id filter
        assert other == {"items": [], "next_cursor": None}


async def test_client_key_matches_only_its_own_rules(admin: Api, world: dict[str, Any]) -> None:
    alert = {"severity": "LOW", "source": "s", "name": "n"}
    everyone = await admin.ok("POST", "/api/v1/match", 200, json=alert)
    ids = {m["rule"]["rule_id"] for m in everyone["items"]}
    assert {world["mine"]["rule_id"], world["theirs"]["rule_id"]} <= ids
    api = admin.as_token(world["mine"]["token"])
    mine = await api.ok("POST", "/api/v1/match", 200, json=alert)
    assert [m["rule"]["rule_id"] for m in mine["items"]] == [world["mine"]["rule_id"]]
    other = {**alert, "client_id": world["theirs"]["client_id"]}
    assert (await api.ok("POST", "/api/v1/match", 200, json=other))["items"] == []
