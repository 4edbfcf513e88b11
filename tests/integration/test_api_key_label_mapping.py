"""An ingest key's label mapping through rule-service's admin API: set at creation,
validated (known fields, Prometheus label names, severities), stored as given, changed
and cleared with PATCH, audited; client keys carry none."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, NewClient

pytestmark = pytest.mark.integration
KEYS = "/api/v1/api-keys"
MAPPING = {
    "name_label": "title",
    "source_labels": ["team", "job"],
    "severity_values": {" P1 ": "critical", "p2": "High"},
    "default_severity": "low",
}


async def test_a_mapping_is_set_at_creation_stored_as_given_and_listed(
    admin: Api, rs_pg: Any
) -> None:
    created = await admin.ok("POST", KEYS, 201, json={"scope": "ingest", "label_mapping": MAPPING})
    shown = {
        "name_label": "title",
        "severity_label": None,  # not given: the default
        "source_labels": ["team", "job"],
        "severity_values": {"p1": "CRITICAL", "p2": "HIGH"},  # as ingest compares them
        "default_severity": "LOW",
        "default_source": None,
    }
    assert created["label_mapping"] == shown
    stored = await rs_pg.fetchval(  # a bare connection: jsonb comes as text
        "SELECT label_mapping FROM api_keys WHERE key_id = $1", uuid.UUID(created["key_id"])
    )
    # Only what was given: a key follows the defaults for the rest, should they change.
    assert json.loads(stored) == {
        "name_label": "title",
        "source_labels": ["team", "job"],
        "severity_values": {"p1": "CRITICAL", "p2": "HIGH"},
        "default_severity": "LOW",
    }
    listed = await admin.ok("GET", KEYS, 200, params={"scope": "ingest", "limit": 500})
    mine = next(k for k in listed["items"] if k["key_id"] == created["key_id"])
    assert mine["label_mapping"] == shown
    plain = await admin.ok("POST", KEYS, 201, json={"scope": "ingest"})
    assert plain["label_mapping"] is None


@pytest.mark.parametrize(
    ("mapping", "field"),
    [
        ({"name_lable": "x"}, "label_mapping.name_lable"),
        ({"name_label": "has-dash"}, "label_mapping.name_label"),
        ({"severity_label": "9lives"}, "label_mapping.severity_label"),
        ({"source_labels": []}, "label_mapping.source_labels"),
        ({"source_labels": ["ok", "not ok"]}, "label_mapping.source_labels[1]"),
        ({"severity_values": {"p1": "urgent"}}, "label_mapping.severity_values.p1"),
        ({"severity_values": {"P1": "high", " p1": "low"}}, "label_mapping.severity_values"),
        ({"severity_values": {" ": "high"}}, "label_mapping.severity_values. [key]"),
        ({"default_severity": "page"}, "label_mapping.default_severity"),
        ({"default_source": "*"}, "label_mapping.default_source"),
        ({"default_source": "a\nb"}, "label_mapping.default_source"),
        ("title", "label_mapping"),
    ],
)
async def test_a_bad_mapping_is_a_422_naming_the_field(
    admin: Api, mapping: Any, field: str
) -> None:
    refused = await admin.post(KEYS, json={"scope": "ingest", "label_mapping": mapping})
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in refused.json()["errors"]] == [field]


async def test_patch_changes_and_clears_a_mapping_and_is_audited(admin: Api) -> None:
    created = await admin.ok("POST", KEYS, 201, json={"scope": "ingest"})
    path = f"{KEYS}/{created['key_id']}"
    changed = await admin.ok("PATCH", path, 200, json={"label_mapping": {"name_label": "title"}})
    assert changed["label_mapping"]["name_label"] == "title"
    assert changed["key_id"] == created["key_id"] and "token" not in changed
    cleared = await admin.ok("PATCH", path, 200, json={"label_mapping": None})
    assert cleared["label_mapping"] is None
    bad = await admin.patch(path, json={"label_mapping": {"severity_label": "a.b"}})
    assert [e["field"] for e in bad.json()["errors"]] == ["label_mapping.severity_label"]
    missing = await admin.patch(path, json={})
    assert [e["field"] for e in missing.json()["errors"]] == ["label_mapping"]

    audit = await admin.ok("GET", "/api/v1/audit", 200, params={"action": "key.update"})
    rows = [r for r in audit["items"] if r["resource_id"] == created["key_id"]]
    assert [r["details"]["label_mapping"] for r in rows] == [{"name_label": "title"}, None]
    assert all(r["details"]["prefix"] == created["prefix"] for r in rows)


async def test_patch_of_an_unknown_key_is_404_and_a_client_key_carries_no_mapping(
    admin: Api, new_client: NewClient
) -> None:
    body = {"label_mapping": {"name_label": "title"}}
    assert (await admin.patch(f"{KEYS}/{uuid.uuid4()}", json=body)).status_code == 404
    assert (await admin.patch(f"{KEYS}/not-a-uuid", json=body)).status_code == 404
    cid, _ = await new_client("mapping")
    client_key = await admin.ok("POST", f"/api/v1/clients/{cid}/api-keys", 201, json={})
    refused = await admin.patch(f"{KEYS}/{client_key['key_id']}", json=body)
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"field": "label_mapping", "message": "only ingest keys carry a label mapping"}
    ]
    keys = await admin.ok("GET", f"/api/v1/clients/{cid}/api-keys", 200)
    mine = next(k for k in keys["items"] if k["key_id"] == client_key["key_id"])
    assert mine["label_mapping"] is None
