"""rule-service over real HTTP and real Postgres: every endpoint and its error codes."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, NewClient

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"


def rule_body(client_id: str, **over: object) -> dict[str, object]:
    return {"client_id": client_id, "severity": "HIGH", "source": "payments", "name": "*", **over}


def assert_problem(response, status: int, field: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"] and body["detail"]
    assert "Traceback" not in response.text
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


# -- clients -------------------------------------------------------------------------------


async def test_client_crud(admin: Api) -> None:
    cid = f"acme-{uuid.uuid4().hex[:8]}"
    created = await admin.ok("POST", "/api/v1/clients", 201, json={"client_id": cid, "name": "A"})
    assert created["client_id"] == cid and created["name"] == "A"
    assert (await admin.ok("GET", f"/api/v1/clients/{cid}", 200))["name"] == "A"
    renamed = await admin.ok("PATCH", f"/api/v1/clients/{cid}", 200, json={"name": "B"})
    assert renamed["name"] == "B" and renamed["updated_at"] >= created["updated_at"]
    assert_problem(
        await admin.post("/api/v1/clients", json={"client_id": cid, "name": "again"}), 409
    )
    await admin.ok("DELETE", f"/api/v1/clients/{cid}", 204)
    assert_problem(await admin.get(f"/api/v1/clients/{cid}"), 404)
    assert_problem(await admin.delete(f"/api/v1/clients/{cid}"), 404)
    assert_problem(await admin.patch(f"/api/v1/clients/{cid}", json={"name": "x"}), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"client_id": "-bad", "name": "x"}, "client_id"),
        ({"client_id": "a" * 65, "name": "x"}, "client_id"),
        ({"client_id": "ok", "name": ""}, "name"),
        ({"client_id": "ok", "name": "x" * 201}, "name"),
        ({"client_id": "ok", "name": "nul\u0000"}, "name"),
        ({"client_id": 7, "name": "x"}, "client_id"),
        ({"client_id": "ok"}, "name"),
        ({"client_id": "ok", "name": "x", "extra": 1}, "extra"),
    ],
)
async def test_client_validation(admin: Api, body: dict[str, object], field: str) -> None:
    assert_problem(await admin.post("/api/v1/clients", json=body), 422, field)


async def test_malformed_wrong_type_and_huge_bodies_are_4xx(admin: Api) -> None:
    assert_problem(await admin.post("/api/v1/clients", content=b"{not json"), 400)
    assert_problem(await admin.post("/api/v1/clients", json=[1, 2]), 422)
    assert_problem(await admin.post("/api/v1/clients", json="text"), 422)
    huge = {"client_id": "big", "name": "x" * 100_000}
    assert_problem(await admin.post("/api/v1/clients", json=huge), 413)
    text = await admin.post(
        "/api/v1/clients", content=b"client_id=x", headers={"content-type": "text/plain"}
    )
    assert_problem(text, 415)
    assert_problem(await admin.request("PUT", "/api/v1/clients"), 405)
    assert_problem(await admin.get("/api/v1/nowhere"), 404)


@pytest.mark.parametrize("depth", [65, 100, 2000])
async def test_deeply_nested_json_is_a_400_naming_the_limit(
    admin: Api, depth: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Refused before parsing, with the same limit and message as every other API (the
    parser's own limit, 200 levels, used to answer a 422 or "recursion limit exceeded")."""
    nested = b'{"client_id": "deep", "name": ' + b"[" * depth + b"]" * depth + b"}"
    for body in (b"[" * depth + b"]" * depth, nested):
        problem = assert_problem(await admin.post("/api/v1/clients", content=body), 400)
        assert problem["detail"] == "request body nests deeper than 64 levels"
    assert not [r for r in caplog.records if r.exc_info]


async def test_client_list_paginates_with_a_stable_cursor(admin: Api) -> None:
    tag = uuid.uuid4().hex[:6]
    for i in range(5):
        await admin.ok(
            "POST", "/api/v1/clients", 201, json={"client_id": f"p{tag}-{i}", "name": "p"}
        )
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await admin.ok("GET", "/api/v1/clients", 200, params=params)
        assert len(page["items"]) <= 2
        seen += [c["client_id"] for c in page["items"]]
        if cursor is None:  # concurrent inserts after the first page land at the end
            await admin.ok(
                "POST", "/api/v1/clients", 201, json={"client_id": f"p{tag}-late", "name": "p"}
            )
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))  # no duplicates across pages
    mine = [c for c in seen if c.startswith(f"p{tag}-")]
    assert mine == [f"p{tag}-{i}" for i in range(5)] + [f"p{tag}-late"]


@pytest.mark.parametrize("cursor", ["garbage", "YWJj", "Yzl8cnVsZXN8MXwy", "x" * 600])
async def test_tampered_cursor_is_422(admin: Api, cursor: str) -> None:
    assert_problem(await admin.get("/api/v1/clients", params={"cursor": cursor}), 422, "cursor")


async def test_cursor_of_another_list_is_422(admin: Api, new_client: NewClient) -> None:
    cid, _ = await new_client()
    await admin.ok("POST", "/api/v1/clients", 201, json={"client_id": f"x{cid}", "name": "x"})
    page = await admin.ok("GET", "/api/v1/clients", 200, params={"limit": 1})
    assert page["next_cursor"]
    assert_problem(await admin.get("/api/v1/rules", params={"cursor": page["next_cursor"]}), 422)


@pytest.mark.parametrize("limit", ["0", "501", "-1", "many"])
async def test_limit_bounds(admin: Api, limit: str) -> None:
    assert_problem(await admin.get("/api/v1/rules", params={"limit": limit}), 422, "limit")


# -- rules ---------------------------------------------------------------------------------


async def test_rule_lifecycle_with_optimistic_locking(admin: Api, new_client: NewClient) -> None:
    cid, api = await new_client()
    rule = await api.ok("POST", "/api/v1/rules", 201, json=rule_body(cid))
    assert rule["version"] == 1 and rule["enabled"] is True and rule["client_id"] == cid
    path = f"/api/v1/rules/{rule['rule_id']}"
    assert await api.ok("GET", path, 200) == rule

    updated = await api.ok("PATCH", path, 200, json={"version": 1, "source": "billing"})
    assert updated["version"] == 2 and updated["source"] == "billing"
    stale = assert_problem(await api.patch(path, json={"version": 1, "name": "x"}), 409)
    assert stale["current_version"] == 2
    disabled = await api.ok("PATCH", path, 200, json={"version": 2, "enabled": False})
    assert disabled["enabled"] is False and disabled["version"] == 3
    same = await api.ok("PATCH", path, 200, json={"version": 3, "enabled": False})
    assert same["version"] == 3  # a no-op keeps the version
    enabled = await api.ok("PATCH", path, 200, json={"version": 3, "enabled": True})
    assert enabled["enabled"] is True and enabled["version"] == 4

    assert_problem(await api.patch(path, json={"source": "x"}), 422, "version")
    assert_problem(await api.patch(path, json={"version": 0}), 422, "version")
    assert_problem(await api.patch(path, json={"version": 2**63}), 422, "version")
    await api.ok("DELETE", path, 204)
    assert_problem(await api.get(path), 404)
    assert_problem(await api.patch(path, json={"version": 4}), 404)
    assert_problem(await api.delete(path), 404)
    assert_problem(await api.get("/api/v1/rules/not-a-uuid"), 404)


async def test_rule_duplicates_are_409(admin: Api, new_client: NewClient) -> None:
    cid, api = await new_client()
    await api.ok("POST", "/api/v1/rules", 201, json=rule_body(cid))
    assert_problem(await api.post("/api/v1/rules", json=rule_body(cid)), 409)
    other = await api.ok("POST", "/api/v1/rules", 201, json=rule_body(cid, name="n"))
    clash = await api.patch(f"/api/v1/rules/{other['rule_id']}", json={"version": 1, "name": "*"})
    assert_problem(clash, 409)
    assert (await api.ok("GET", f"/api/v1/rules/{other['rule_id']}", 200))["version"] == 1


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"severity": "URGENT"}, "severity"),
        ({"severity": "high"}, "severity"),
        ({"source": ""}, "source"),
        ({"source": "s" * 201}, "source"),
        ({"name": None}, "name"),
        ({"severity": "*", "source": "*", "name": "*"}, "severity"),
        ({"client_id": "bad id"}, "client_id"),
        ({"enabled": "maybe"}, "enabled"),
    ],
)
async def test_rule_validation(admin: Api, over: dict[str, object], field: str) -> None:
    body = {**rule_body("someone"), **over}
    assert_problem(await admin.post("/api/v1/rules", json=body), 422, field)


async def test_patch_to_all_wildcards_is_422(new_client: NewClient) -> None:
    cid, api = await new_client()
    rule = await api.ok("POST", "/api/v1/rules", 201, json=rule_body(cid, severity="*"))
    body = {"version": 1, "source": "*"}
    assert_problem(await api.patch(f"/api/v1/rules/{rule['rule_id']}", json=body), 422, "source")


async def test_rule_for_unknown_client_is_404(admin: Api) -> None:
    assert_problem(await admin.post("/api/v1/rules", json=rule_body("nobody-here")), 404)


async def test_rule_list_filters(admin: Api, new_client: NewClient) -> None:
    cid, api = await new_client()
    a = await api.ok("POST", "/api/v1/rules", 201, json=rule_body(cid, name="a"))
    await api.ok("POST", "/api/v1/rules", 201, json=rule_body(cid, name="b", enabled=False))
    mine = await api.ok("GET", "/api/v1/rules", 200)
    assert [r["name"] for r in mine["items"]] == ["a", "b"] and mine["next_cursor"] is None
    on = await admin.ok("GET", "/api/v1/rules", 200, params={"client_id": cid, "enabled": "true"})
    assert [r["rule_id"] for r in on["items"]] == [a["rule_id"]]
    first = await api.ok("GET", "/api/v1/rules", 200, params={"limit": 1})
    second = await api.ok("GET", "/api/v1/rules", 200, params={"cursor": first["next_cursor"]})
    assert [r["name"] for r in first["items"] + second["items"]] == ["a", "b"]


async def test_match_explains_each_field(admin: Api, new_client: NewClient) -> None:
    cid, api = await new_client()
    exact = await api.ok("POST", "/api/v1/rules", 201, json=rule_body(cid, name="cpu"))
    wild = await api.ok("POST", "/api/v1/rules", 201, json=rule_body(cid, severity="*"))
    await api.ok("POST", "/api/v1/rules", 201, json=rule_body(cid, source="other"))
    await api.ok("POST", "/api/v1/rules", 201, json=rule_body(cid, name="x", enabled=False))
    alert = {"severity": "HIGH", "source": "payments", "name": "cpu"}
    result = await api.ok("POST", "/api/v1/match", 200, json=alert)
    why = {m["rule"]["rule_id"]: m["why"] for m in result["items"]}
    assert why == {
        exact["rule_id"]: {"severity": "exact", "source": "exact", "name": "exact"},
        wild["rule_id"]: {"severity": "wildcard", "source": "exact", "name": "wildcard"},
    }
    assert result["truncated"] is False
    # A wildcard is the whole-field literal "*" only: "pay*" is not a pattern.
    await api.ok("POST", "/api/v1/rules", 201, json=rule_body(cid, source="pay*", name="cpu"))
    again = await api.ok("POST", "/api/v1/match", 200, json=alert)
    assert len(again["items"]) == 2
    scoped = await admin.ok("POST", "/api/v1/match", 200, json={**alert, "client_id": cid})
    assert {m["rule"]["rule_id"] for m in scoped["items"]} == set(why)
    assert_problem(
        await api.post("/api/v1/match", json={**alert, "severity": "*"}), 422, "severity"
    )
    assert_problem(await api.post("/api/v1/match", json={**alert, "name": ""}), 422, "name")


# -- endpoints -----------------------------------------------------------------------------


async def test_endpoint_lifecycle_and_secret_shown_once(new_client: NewClient) -> None:
    cid, api = await new_client()
    rule = await api.ok("POST", "/api/v1/rules", 201, json=rule_body(cid))
    of_rule = f"/api/v1/rules/{rule['rule_id']}/endpoints"
    hook = await api.ok(
        "POST", of_rule, 201, json={"type": "webhook", "value": "http://127.0.0.1:9/h"}
    )
    assert len(hook["signing_secret"]) >= 32
    mail = await api.ok("POST", of_rule, 201, json={"type": "email", "value": "Ops@Example.com"})
    assert mail["signing_secret"] is None and mail["value"] == "Ops@example.com"
    slack = await api.ok(
        "POST", of_rule, 201, json={"type": "slack", "value": "https://hooks.slack.com/x"}
    )
    listed = await api.ok("GET", of_rule, 200)
    assert [e["endpoint_id"] for e in listed["items"]] == [
        hook["endpoint_id"],
        mail["endpoint_id"],
        slack["endpoint_id"],
    ]
    one = f"/api/v1/endpoints/{hook['endpoint_id']}"
    got = await api.ok("GET", one, 200)
    assert "signing_secret" not in got and all("signing_secret" not in e for e in listed["items"])
    changed = await api.ok(
        "PATCH", one, 200, json={"enabled": False, "value": "http://127.0.0.1:9/g"}
    )
    assert changed["enabled"] is False and changed["value"] == "http://127.0.0.1:9/g"
    dup = {"type": "email", "value": "Ops@example.com"}
    assert_problem(await api.post(of_rule, json=dup), 409)
    await api.ok("DELETE", one, 204)
    assert_problem(await api.get(one), 404)
    assert_problem(await api.delete(one), 404)
    missing = f"/api/v1/rules/{uuid.uuid4()}/endpoints"
    assert_problem(await api.post(missing, json={"type": "email", "value": "a@b.co"}), 404)
    assert_problem(await api.get(missing), 404)


async def test_send_resolved_defaults_to_true_and_can_be_switched_off(
    new_client: NewClient,
) -> None:
    cid, api = await new_client()
    rule = await api.ok("POST", "/api/v1/rules", 201, json=rule_body(cid))
    of_rule = f"/api/v1/rules/{rule['rule_id']}/endpoints"
    hook = await api.ok(
        "POST", of_rule, 201, json={"type": "webhook", "value": "http://127.0.0.1:9/h"}
    )
    assert hook["send_resolved"] is True
    quiet = await api.ok(
        "POST", of_rule, 201,
        json={"type": "email", "value": "ops@example.com", "send_resolved": False},
    )  # fmt: skip
    assert quiet["send_resolved"] is False
    one = f"/api/v1/endpoints/{hook['endpoint_id']}"
    changed = await api.ok("PATCH", one, 200, json={"send_resolved": False})
    assert changed["send_resolved"] is False and changed["enabled"] is True
    assert (await api.ok("GET", one, 200))["send_resolved"] is False
    kept = await api.ok("PATCH", one, 200, json={"enabled": False})  # absent: unchanged
    assert kept["send_resolved"] is False
    listed = await api.ok("GET", of_rule, 200)
    assert [e["send_resolved"] for e in listed["items"]] == [False, False]
    for wrong in ("yes", 1, "true", [True]):
        assert_problem(await api.patch(one, json={"send_resolved": wrong}), 422, "send_resolved")
    body = {"type": "email", "value": "dba@example.com", "send_resolved": "false"}
    assert_problem(await api.post(of_rule, json=body), 422, "send_resolved")


@pytest.mark.parametrize(
    "body",
    [
        {"type": "email", "value": "not-an-address"},
        {"type": "email", "value": "a@"},
        {"type": "webhook", "value": "ftp://example.com/x"},
        {"type": "webhook", "value": "example.com/hook"},
        {"type": "slack", "value": "https://"},
        {"type": "slack", "value": "http://user:pw@example.com/"},
        {"type": "webhook", "value": ""},
        {"type": "sms", "value": "+100"},
    ],
)
async def test_endpoint_validation(new_client: NewClient, body: dict[str, str]) -> None:
    cid, api = await new_client()
    rule = await api.ok("POST", "/api/v1/rules", 201, json=rule_body(cid))
    field = "type" if body["type"] == "sms" else "value"
    response = await api.post(f"/api/v1/rules/{rule['rule_id']}/endpoints", json=body)
    assert_problem(response, 422, field)
