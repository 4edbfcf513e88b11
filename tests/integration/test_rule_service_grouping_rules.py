"""A rule's grouping policy through the API: create, PATCH (absent keeps, null removes),
every representation, 422s naming the field, the audit trail, and the OpenAPI document."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, NewClient

pytestmark = pytest.mark.integration
RULES = "/api/v1/rules"
DEFAULTS = {"group_wait_s": 30, "group_interval_s": 300, "repeat_interval_s": 14_400}


def rule_body(client_id: str, **over: object) -> dict[str, object]:
    return {"client_id": client_id, "severity": "HIGH", "source": "db", "name": "*", **over}


async def test_a_policy_is_stored_with_its_defaults_and_shown_everywhere(
    admin: Api, new_client: NewClient, rs_pg: Any
) -> None:
    cid, api = await new_client()
    rule = await api.ok(
        "POST", RULES, 201, json=rule_body(cid, grouping={"group_by": ["context.cluster"]})
    )
    policy = {"group_by": ["context.cluster"], **DEFAULTS}
    assert rule["grouping"] == policy and rule["version"] == 1
    stored = await rs_pg.fetchval(
        "SELECT grouping::text FROM rules WHERE rule_id = $1", uuid.UUID(rule["rule_id"])
    )
    assert stored is not None and json.loads(stored) == policy
    path = f"{RULES}/{rule['rule_id']}"
    assert (await api.ok("GET", path, 200))["grouping"] == policy
    listed = await api.ok("GET", RULES, 200)
    assert [r["grouping"] for r in listed["items"]] == [policy]
    matched = await admin.ok(
        "POST", "/api/v1/match", 200,
        json={"client_id": cid, "severity": "HIGH", "source": "db", "name": "x"},
    )  # fmt: skip
    assert [m["rule"]["grouping"] for m in matched["items"]] == [policy]

    plain = await api.ok("POST", RULES, 201, json=rule_body(cid, source="web"))
    assert plain["grouping"] is None


async def test_patch_changes_keeps_and_removes_the_policy(
    admin: Api, new_client: NewClient, rs_pg: Any
) -> None:
    cid, api = await new_client()
    rule = await api.ok("POST", RULES, 201, json=rule_body(cid))
    path = f"{RULES}/{rule['rule_id']}"
    outbox_rows = "SELECT count(*) FROM rule_outbox WHERE rule_id = $1"
    rule_id = uuid.UUID(rule["rule_id"])
    before = await rs_pg.fetchval(outbox_rows, rule_id)

    grouped = await api.ok("PATCH", path, 200, json={"version": 1, "grouping": {"group_wait_s": 0}})
    assert grouped["version"] == 2 and grouped["grouping"] == {"group_by": [], **DEFAULTS,
                                                               "group_wait_s": 0}  # fmt: skip
    # A grouping change is a change like any other: a new version and its outbox row
    # (the evaluators report the version they hold; the message carries no policy).
    assert await rs_pg.fetchval(outbox_rows, rule_id) == before + 1

    kept = await api.ok("PATCH", path, 200, json={"version": 2, "source": "db2"})
    assert kept["version"] == 3 and kept["grouping"] == grouped["grouping"]
    same = await api.ok("PATCH", path, 200, json={"version": 3, "grouping": {"group_wait_s": 0}})
    assert same["version"] == 3  # the same policy, defaults filled: no change

    removed = await api.ok("PATCH", path, 200, json={"version": 3, "grouping": None})
    assert removed["version"] == 4 and removed["grouping"] is None
    assert await rs_pg.fetchval("SELECT grouping FROM rules WHERE rule_id = $1", rule_id) is None

    audit = await admin.ok(
        "GET", "/api/v1/audit", 200, params={"client_id": cid, "action": "rule.update"}
    )
    details = [r["details"] for r in audit["items"]]
    assert {"version": 2, "grouping": grouped["grouping"]} in details
    assert {"version": 4, "grouping": None} in details
    created = await admin.ok(
        "GET", "/api/v1/audit", 200, params={"client_id": cid, "action": "rule.create"}
    )
    assert created["items"][0]["details"]["grouping"] is None


@pytest.mark.parametrize(
    ("grouping", "field"),
    [
        ({"group_by": ["source", "host"]}, "grouping.group_by[1]"),
        ({"group_by": ["name", "name"]}, "grouping.group_by[1]"),
        ({"group_by": "source"}, "grouping.group_by"),
        ({"group_wait_s": 3601}, "grouping.group_wait_s"),
        ({"group_interval_s": True}, "grouping.group_interval_s"),
        ({"group_interval_s": 600, "repeat_interval_s": 60}, "grouping.repeat_interval_s"),
        ({"wait": 1}, "grouping.wait"),
        ({"wait\nX-Forged: 1": 1}, "grouping.wait\\u000aX-Forged: 1"),
        ({"group_by": ["source", "context.a\u0000b"]}, "grouping.group_by[1]"),
        ({"group_by": ["context.line\nbreak"]}, "grouping.group_by[0]"),
        ([], "grouping"),
        ("source", "grouping"),
    ],
)
async def test_a_bad_policy_is_a_422_naming_the_field(
    new_client: NewClient, grouping: object, field: str
) -> None:
    cid, api = await new_client()
    for response in (
        await api.post(RULES, json=rule_body(cid, grouping=grouping)),
        await api.patch(
            f"{RULES}/{(await api.ok('POST', RULES, 201, json=rule_body(cid)))['rule_id']}",
            json={"version": 1, "grouping": grouping},
        ),
    ):
        assert response.status_code == 422, response.text
        body = response.json()
        assert [e["field"] for e in body["errors"]] == [field]
        assert body["detail"].startswith(f"{field}: ") and "Traceback" not in response.text
    assert (await api.ok("GET", RULES, 200))["items"][0]["grouping"] is None


async def test_the_openapi_document_describes_the_policy_and_stays_valid(admin: Api) -> None:
    document = await admin.ok("GET", "/openapi.json", 200)
    validate(document)
    schemas = document["components"]["schemas"]
    for name in ("RuleCreate", "RuleUpdate", "Rule"):
        grouping = schemas[name]["properties"]["grouping"]
        Draft202012Validator.check_schema(grouping)
        variants = grouping["anyOf"]
        policy = next(v for v in variants if v.get("type") == "object")
        assert set(policy["properties"]) == {"group_by", *DEFAULTS}
        assert policy["properties"]["group_wait_s"]["maximum"] == 3600
    answer = next(v for v in schemas["Rule"]["properties"]["grouping"]["anyOf"] if "required" in v)
    assert set(answer["required"]) == {"group_by", *DEFAULTS}
    body = {"group_by": ["severity"], "group_wait_s": 5}
    Draft202012Validator(schemas["RuleCreate"]["properties"]["grouping"]).validate(body)
