"""The audit log: every change through rule-service is recorded (who, what, when) in the
change's own transaction, listed by GET /api/v1/audit for admins only."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, NewClient

pytestmark = pytest.mark.integration

AUDIT = "/api/v1/audit"


async def audit_of(admin: Api, client_id: str, **params: Any) -> list[dict[str, Any]]:
    """Every audit row of a client, following the cursor a page at a time."""
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"client_id": client_id, "limit": 2, **params}
        if cursor is not None:
            query["cursor"] = cursor
        page = await admin.ok("GET", AUDIT, 200, params=query)
        rows += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


async def test_every_change_is_recorded_with_who_did_it(admin: Api, new_client: NewClient) -> None:
    cid, tenant = await new_client("audit")
    key_prefix = tenant.token.split("_")[1] if tenant.token else ""
    await tenant.ok("PATCH", f"/api/v1/clients/{cid}", 200, json={"name": "renamed"})
    rule = await tenant.ok(
        "POST", "/api/v1/rules", 201,
        json={"client_id": cid, "severity": "HIGH", "source": "db", "name": "down"},
    )  # fmt: skip
    rule_id = rule["rule_id"]
    await tenant.ok("PATCH", f"/api/v1/rules/{rule_id}", 200, json={"version": 1, "enabled": False})
    secret_url = "http://127.0.0.1:9/hooks/T000/B000/very-secret-path"
    endpoint = await tenant.ok(
        "POST", f"/api/v1/rules/{rule_id}/endpoints", 201,
        json={"type": "webhook", "value": secret_url},
    )  # fmt: skip
    endpoint_id = endpoint["endpoint_id"]
    await admin.ok("PATCH", f"/api/v1/endpoints/{endpoint_id}", 200, json={"enabled": False})
    await tenant.ok("DELETE", f"/api/v1/endpoints/{endpoint_id}", 204)
    await tenant.ok("DELETE", f"/api/v1/rules/{rule_id}", 204)
    extra = await admin.ok("POST", f"/api/v1/clients/{cid}/api-keys", 201, json={})
    await tenant.ok("DELETE", f"/api/v1/clients/{cid}/api-keys/{extra['key_id']}", 204)
    await admin.ok("DELETE", f"/api/v1/clients/{cid}", 204)

    rows = await audit_of(admin, cid)
    by_key = f"key:{key_prefix}"
    assert [(r["action"], r["actor"], r["resource_id"]) for r in rows] == [
        ("client.create", "admin", cid),
        ("key.create", "admin", rows[1]["resource_id"]),  # new_client's key
        ("client.update", by_key, cid),
        ("rule.create", by_key, rule_id),
        ("rule.update", by_key, rule_id),
        ("endpoint.create", by_key, endpoint_id),
        ("endpoint.update", "admin", endpoint_id),
        ("endpoint.delete", by_key, endpoint_id),
        ("rule.delete", by_key, rule_id),
        ("key.create", "admin", extra["key_id"]),
        ("key.revoke", by_key, extra["key_id"]),
        ("client.delete", "admin", cid),
    ]
    assert all(r["client_id"] == cid for r in rows)
    assert {r["actor_client_id"] for r in rows if r["actor"] == by_key} == {cid}
    assert {r["actor_client_id"] for r in rows if r["actor"] == "admin"} == {None}
    assert rows[4]["details"] == {"version": 2, "enabled": False}
    assert rows[5]["details"] == {
        "rule_id": rule_id, "type": "webhook", "send_resolved": True, "templates": [],
        "rate_per_s": None, "rate_burst": None,
    }  # fmt: skip
    assert rows[6]["details"] == {
        "enabled": False, "send_resolved": True, "value_changed": False, "templates": [],
        "secret_replaced": False, "rate_per_s": None, "rate_burst": None,
    }  # fmt: skip
    assert rows[9]["details"] == {"scope": "client", "prefix": extra["token"].split("_")[1]}
    assert rows[0]["resource_type"] == "client" and rows[5]["resource_type"] == "endpoint"
    assert all(r["at"] for r in rows) and len({r["audit_id"] for r in rows}) == len(rows)
    # No secret reaches the log: not a token, a signing secret, nor an endpoint's value.
    stored = json.dumps(rows)
    for secret in (tenant.token, extra["token"], endpoint["signing_secret"], secret_url):
        assert secret and secret not in stored


async def test_the_list_filters_by_action_and_time(admin: Api, new_client: NewClient) -> None:
    cid, tenant = await new_client("audit")
    for name in ("a", "b", "c"):
        await tenant.ok(
            "POST", "/api/v1/rules", 201,
            json={"client_id": cid, "severity": "LOW", "source": "s", "name": name},
        )  # fmt: skip
    created = await audit_of(admin, cid, action="rule.create")
    assert [r["action"] for r in created] == ["rule.create"] * 3
    first = datetime.fromisoformat(created[0]["at"])
    later = await audit_of(admin, cid, action="rule.create", since=created[1]["at"])
    assert [r["audit_id"] for r in later] == [r["audit_id"] for r in created[1:]]
    before = await audit_of(admin, cid, until=(first - timedelta(microseconds=1)).isoformat())
    assert [r["action"] for r in before] == ["client.create", "key.create"]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert await audit_of(admin, cid, since=future) == []
    everyone = await admin.ok("GET", AUDIT, 200, params={"action": "rule.create", "limit": 500})
    assert all(r["action"] == "rule.create" for r in everyone["items"])
    bad = await admin.get(AUDIT, params={"action": "rule.explode"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "action"
    naive = await admin.get(AUDIT, params={"since": "2026-01-01T00:00:00"})
    assert naive.status_code == 422  # a time without a zone is ambiguous


async def test_only_admins_read_the_audit_log(admin: Api, new_client: NewClient) -> None:
    cid, tenant = await new_client("audit")
    refused = await tenant.get(AUDIT, params={"client_id": cid})
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this operation needs the admin token"
    assert (await admin.as_token(None).get(AUDIT)).status_code == 401
    ingest = await admin.ok("POST", "/api/v1/api-keys", 201, json={"scope": "ingest"})
    assert (await admin.as_token(ingest["token"]).get(AUDIT)).status_code == 403


async def test_a_refused_change_records_nothing(admin: Api, new_client: NewClient) -> None:
    cid, tenant = await new_client("audit")
    before = await audit_of(admin, cid)
    duplicate = await admin.post("/api/v1/clients", json={"client_id": cid, "name": "again"})
    assert duplicate.status_code == 409
    stale = await tenant.request("PATCH", f"/api/v1/rules/{uuid.uuid4()}", json={"version": 1})
    assert stale.status_code == 404
    rule = {"client_id": cid, "severity": "LOW", "source": "s", "name": "n"}
    await tenant.ok("POST", "/api/v1/rules", 201, json=rule)
    assert (await tenant.post("/api/v1/rules", json=rule)).status_code == 409
    rows = await audit_of(admin, cid)
    assert [r["action"] for r in rows] == [r["action"] for r in before] + ["rule.create"]


async def test_the_audit_row_and_the_change_commit_together(
    admin: Api, new_client: NewClient, rs_pg: Any
) -> None:
    """When the audit row cannot be written, the change it records is rolled back: the
    two share one transaction. (A trigger refuses the row of one client id.)"""
    doomed = f"doomed-{uuid.uuid4().hex[:8]}"
    await rs_pg.execute(
        f"""
        CREATE FUNCTION refuse_{doomed.replace("-", "_")}() RETURNS trigger AS $$
        BEGIN
            IF NEW.resource_id = '{doomed}' THEN RAISE EXCEPTION 'audit refused'; END IF;
            RETURN NEW;
        END $$ LANGUAGE plpgsql;
        CREATE TRIGGER refuse_{doomed.replace("-", "_")} BEFORE INSERT ON audit_log
            FOR EACH ROW EXECUTE FUNCTION refuse_{doomed.replace("-", "_")}();
        """
    )
    try:
        failed = await admin.post("/api/v1/clients", json={"client_id": doomed, "name": "x"})
        assert failed.status_code >= 500
        assert await rs_pg.fetchval("SELECT 1 FROM clients WHERE client_id = $1", doomed) is None
    finally:
        name = f"refuse_{doomed.replace('-', '_')}"
        await rs_pg.execute(f"DROP TRIGGER {name} ON audit_log; DROP FUNCTION {name}()")


async def test_the_request_id_is_recorded_when_it_looks_like_one(
    admin: Api, new_client: NewClient
) -> None:
    cid, tenant = await new_client("audit")
    await tenant.ok(
        "PATCH", f"/api/v1/clients/{cid}", 200, json={"name": "a"},
        headers={"X-Request-Id": "Jc5d0jHkoAMESnQ="},
    )  # fmt: skip
    await tenant.ok(
        "PATCH", f"/api/v1/clients/{cid}", 200, json={"name": "b"},
        headers={"X-Request-Id": "two words\tand a tab"},
    )  # fmt: skip
    updates = await audit_of(admin, cid, action="client.update")
    assert [(r["details"]["name"], r["request_id"]) for r in updates] == [
        ("a", "Jc5d0jHkoAMESnQ="),
        ("b", None),  # the caller's text, not an id: not kept
    ]
