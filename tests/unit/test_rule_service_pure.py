"""Pure pieces of the rule-service: match explanations, the rule action of a change,
problem rendering and the generated OpenAPI document."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from alerting.domain.model import RuleAction
from alerting.domain.patterns import explain
from alerting.services.rule_service.api.rules import action_for
from alerting.services.rule_service.app import OPERATIONS, openapi_document
from alerting.services.rule_service.models.rules import RuleCreate
from alerting.services.rule_service.repo.rules import RuleFields
from alerting.web import problems


@pytest.mark.parametrize(
    ("rule", "alert", "why"),
    [
        (("HIGH", "db", "disk"), ("HIGH", "db", "disk"),
         {"severity": "exact", "source": "exact", "name": "exact"}),
        (("*", "db", "*"), ("LOW", "db", "cpu"),
         {"severity": "wildcard", "source": "exact", "name": "wildcard"}),
        (("HIGH", "db", "disk"), ("LOW", "db", "disk"), None),
        (("HIGH", "d*", "*"), ("HIGH", "db", "x"), None),  # "*" is whole-field only
        (("HIGH", "DB", "*"), ("HIGH", "db", "x"), None),  # exact means case-sensitive
    ],
)  # fmt: skip
def test_explain(rule: tuple[str, str, str], alert: tuple[str, str, str], why: object) -> None:
    assert explain(rule, alert) == why


def test_action_for_a_change() -> None:
    on, off = RuleFields("LOW", "a", "b", True), RuleFields("LOW", "a", "b", False)
    renamed = RuleFields("LOW", "a", "c", True)
    assert action_for(on, off) == RuleAction.DISABLED
    assert action_for(off, on) == RuleAction.UPDATED
    assert action_for(on, renamed) == RuleAction.UPDATED
    assert action_for(off, RuleFields("LOW", "a", "c", False)) == RuleAction.DISABLED


def test_validation_errors_name_their_fields() -> None:
    with pytest.raises(ValidationError) as info:
        RuleCreate.model_validate({"client_id": "c", "severity": "BAD", "source": "", "name": "x"})
    error = problems.from_validation(info.value, "body")
    assert error.status == 422
    assert {f for f, _ in error.errors} == {"severity", "source"}
    response = problems.render(error)
    body = json.loads(bytes(response.body))
    assert response.media_type == "application/problem+json"
    assert body["errors"][0].keys() == {"field", "message"}


def test_broken_json_is_400() -> None:
    with pytest.raises(ValidationError) as info:
        RuleCreate.model_validate_json(b"{oops")
    assert problems.from_validation(info.value, "body").status == 400


def test_openapi_document_covers_every_operation() -> None:
    doc = openapi_document()
    assert doc["openapi"].startswith("3.1")
    paths = doc["paths"]
    assert isinstance(paths, dict)
    for op in OPERATIONS:
        spec = paths[op.path][op.method.lower()]
        assert str(op.status) in spec["responses"]
        assert {"401", "403", "429"} <= set(spec["responses"])
    audit = paths["/api/v1/audit"]["get"]  # type: ignore[index]
    assert {p["name"] for p in audit["parameters"]} >= {"client_id", "action", "since", "until"}
    text = json.dumps(doc)
    refs = {part.split('"')[0] for part in text.split('"#/components/schemas/')[1:]}
    schemas = doc["components"]["schemas"]  # type: ignore[index]
    assert refs <= set(schemas), refs - set(schemas)
    assert "$defs" not in text


def test_openapi_document_describes_the_alert_lifecycle_fields() -> None:
    doc = openapi_document()
    schemas = doc["components"]["schemas"]
    for model in ("Endpoint", "EndpointCreate", "EndpointUpdate"):
        assert "send_resolved" in schemas[model]["properties"], model
    assert schemas["EndpointCreate"]["properties"]["send_resolved"]["default"] is True
    detail = schemas["NotificationDetail"]["properties"]
    assert {"kind", "episode", "firing_id", "silence_id", "episode_rows"} <= detail.keys()
    assert "SUPPRESSED" in detail["status"]["enum"]
    listing = doc["paths"]["/api/v1/notifications"]["get"]["parameters"]
    assert {"status", "kind", "alert_id", "client_id"} <= {p["name"] for p in listing}


def test_openapi_document_is_accepted_by_schemathesis() -> None:
    import schemathesis

    schema = schemathesis.openapi.from_dict(openapi_document())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(OPERATIONS)
