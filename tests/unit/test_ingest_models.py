"""Validation of what ingest accepts: each bad field answers with its own path and reason."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from alerting.domain.model import AlertStatus, Severity, stable_alert_id
from alerting.services.ingest.app import parse_alerts
from alerting.services.ingest.models import MAX_RATE, RESOLVED_NEEDS_ID, JobRequest
from alerting.web.problems import ApiError, from_validation

NOW = 1_700_000_000
GOOD: dict[str, Any] = {"severity": "HIGH", "source": "payments", "name": "card_declined"}
TOO_DEEP = "request body nests deeper than 64 levels"


def parse(body: object) -> list[Any]:
    return parse_alerts(json.dumps(body).encode(), NOW)


def refused(body: object) -> ApiError:
    with pytest.raises(ApiError) as info:
        parse(body)
    return info.value


def test_one_alert_gets_defaults_and_a_stable_id() -> None:
    (alert,) = parse({**GOOD, "severity": "high", "context": {"region": "eu"}})
    assert alert.severity is Severity.HIGH
    assert alert.event_ts == NOW
    assert alert.alert_id == stable_alert_id(Severity.HIGH, "payments", "card_declined", NOW)
    assert alert.context == {"region": "eu"}


def test_a_batch_keeps_order_and_given_ids() -> None:
    alerts = parse({"alerts": [{**GOOD, "alert_id": "ext-1"}, {**GOOD, "event_ts": NOW - 5}]})
    assert alerts[0].alert_id == "ext-1"
    assert alerts[1].event_ts == NOW - 5
    expected = stable_alert_id(Severity.HIGH, "payments", "card_declined", NOW - 5)
    assert alerts[1].alert_id == expected


def test_status_is_firing_unless_resolved_is_said() -> None:
    firing, resolved = parse(
        {"alerts": [GOOD, {**GOOD, "status": "resolved", "alert_id": "ext-1"}]}
    )
    assert firing.status is AlertStatus.FIRING
    assert (resolved.status, resolved.alert_id) == (AlertStatus.RESOLVED, "ext-1")
    assert parse({**GOOD, "status": "firing"})[0].status is AlertStatus.FIRING


def test_a_resolved_alert_without_an_id_derives_its_firings_id_from_event_ts() -> None:
    (firing,) = parse({**GOOD, "event_ts": NOW - 60})
    (resolved,) = parse({**GOOD, "event_ts": NOW - 60, "status": "resolved"})
    assert resolved.alert_id == firing.alert_id
    assert resolved.status is AlertStatus.RESOLVED


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"status": "resolved"}, "alerts[1].status", RESOLVED_NEEDS_ID),
        ({"status": "RESOLVED", "alert_id": "x"}, "alerts[1].status", "'firing' or 'resolved'"),
        ({"status": "ok"}, "alerts[1].status", "'firing' or 'resolved'"),
        ({"status": None}, "alerts[1].status", "'firing' or 'resolved'"),
        ({"status": 1}, "alerts[1].status", "'firing' or 'resolved'"),
        # the alert_id's own error, not a second one about the missing id
        ({"status": "resolved", "alert_id": "a b"}, "alerts[1].alert_id", "should match"),
    ],
)
def test_a_bad_status_is_named(change: dict[str, Any], field: str, message: str) -> None:
    error = refused({"alerts": [GOOD, {**GOOD, **change}]})
    assert error.status == 422
    assert [f for f, _ in error.errors] == [field]
    assert message in error.errors[0][1]


@pytest.mark.parametrize(
    ("event_ts", "expected"),
    [
        ("2024-05-01T12:00:00Z", 1_714_564_800),
        ("2024-05-01T14:00:00+02:00", 1_714_564_800),
        (1_714_564_800.9, 1_714_564_800),
    ],
)
def test_event_ts_as_rfc3339_or_unix_seconds(event_ts: object, expected: int) -> None:
    assert parse({**GOOD, "event_ts": event_ts})[0].event_ts == expected


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"severity": "SEVERE"}, "severity", "'LOW', 'MEDIUM', 'HIGH' or 'CRITICAL'"),
        ({"severity": None}, "severity", "LOW"),
        ({"name": "*"}, "name", "'*' is a rule wildcard"),
        ({"source": "*"}, "source", "'*' is a rule wildcard"),
        ({"name": ""}, "name", "at least 1 character"),
        ({"name": "n" * 201}, "name", "at most 200 characters"),
        ({"source": "a\x00b"}, "source", "NUL"),
        ({"alert_id": "has space"}, "alert_id", "should match pattern"),
        ({"alert_id": "x" * 129}, "alert_id", "should match pattern"),
        ({"event_ts": "yesterday"}, "event_ts", "not an RFC 3339 timestamp"),
        ({"event_ts": "2024-05-01T12:00:00"}, "event_ts", "needs a UTC offset"),
        ({"event_ts": 1_700_000_000_000}, "event_ts", "unix seconds, not ms"),
        ({"event_ts": 12}, "event_ts", "between 2000-01-01"),
        ({"event_ts": True}, "event_ts", "unix seconds or an RFC 3339"),
        ({"context": {"k": 1}}, "context.k", "valid string"),
        ({"context": {"k": "v\x00"}}, "context.k", "NUL"),
        ({"context": {f"k{i}": "v" for i in range(33)}}, "context", "at most 32 items"),
        ({"context": {"k": "v" * 1025}}, "context.k", "at most 1024 characters"),
        ({"priority": 1}, "priority", "Extra inputs are not permitted"),
    ],
)
def test_each_bad_field_is_named(change: dict[str, Any], field: str, message: str) -> None:
    error = refused({**GOOD, **change})
    assert error.status == 422
    assert [f for f, _ in error.errors] == [field]
    assert message in error.errors[0][1]


def test_missing_field_and_batch_index() -> None:
    missing = refused({"severity": "LOW", "source": "s"})
    assert missing.errors == [("name", "Field required")]
    batch = refused({"alerts": [GOOD, GOOD, GOOD, {**GOOD, "severity": "nope"}]})
    assert [f for f, _ in batch.errors] == ["alerts[3].severity"]
    assert batch.detail.startswith("alerts[3].severity: ")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"alerts": []}, "at least 1 item"),
        ({"alerts": [GOOD] * 1001}, "at most 1000 items"),
        ({"alerts": GOOD}, "valid list"),
    ],
)
def test_batch_bounds(body: object, message: str) -> None:
    error = refused(body)
    assert error.errors[0][0] == "alerts"
    assert message in error.errors[0][1]


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe"])
def test_malformed_json_is_400(raw: bytes) -> None:
    with pytest.raises(ApiError) as info:
        parse_alerts(raw, NOW)
    assert info.value.status == 400


def test_a_list_body_is_refused_as_a_whole() -> None:
    error = refused([GOOD])
    assert error.status == 422
    assert error.errors[0][0] == "body"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"rate": 0, "count": 1}, "rate", "greater than 0"),
        ({"rate": MAX_RATE + 1, "count": 1}, "rate", "less than or equal to"),
        ({"rate": 10, "count": 10**9}, "count", "less than or equal to"),
        ({"rate": 10, "duration_s": 86_401}, "duration_s", "less than or equal to"),
        ({"rate": 10, "count": 5, "severities": {"SEVERE": 1}}, "severities", "not one of"),
        ({"rate": 10, "count": 5, "sources": {"*": 1}}, "sources", "rule wildcard"),
        ({"rate": 10, "count": 5, "names": {"a": 0}}, "names", "at least one weight must be > 0"),
        ({"rate": 10, "count": 5, "names": {"a": -1}}, "names", "finite number >= 0"),
        ({"rate": 10, "count": 5, "tag": "no spaces"}, "tag", "should match pattern"),
        ({"rate": 10, "count": 5, "batch_size": 1001}, "batch_size", "less than or equal"),
        ({"rate": 10, "count": 5, "speed": 1}, "speed", "Extra inputs"),
    ],
)
def test_job_request_validation(body: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        JobRequest.model_validate(body)
    error = from_validation(info.value, "body")
    assert [f for f, _ in error.errors] == [field]
    assert message in error.errors[0][1]


@pytest.mark.parametrize(
    ("body", "bounded"),
    [
        ({"rate": 10, "count": 5}, True),
        ({"rate": 10, "duration_s": 2.5}, True),
        ({"rate": 10}, False),
        ({"rate": 10, "count": 5, "duration_s": 1}, False),
    ],
)
def test_a_job_has_exactly_one_bound(body: dict[str, Any], bounded: bool) -> None:
    request = JobRequest.model_validate(body)
    assert (request.bound_error() is None) is bounded


def test_job_distributions_are_normalised() -> None:
    request = JobRequest.model_validate(
        {"rate": 5, "count": 1, "severities": {"high": 2, "HIGH": 1, "low": 1}}
    )
    assert request.severities == {"HIGH": 3.0, "LOW": 1.0}


# One character of each class that could forge a line or reorder text in a notification.
FORGING = [
    ("\n", "U+000A"),
    ("\r", "U+000D"),
    ("\x1b", "U+001B"),
    ("\x7f", "U+007F"),
    ("\x85", "U+0085"),
    ("\u2028", "U+2028"),
    ("\u202e", "U+202E"),
    ("\u2067", "U+2067"),
]


@pytest.mark.parametrize(("char", "code"), FORGING, ids=[code for _, code in FORGING])
def test_forging_characters_are_refused_in_every_text_field(char: str, code: str) -> None:
    bodies = {
        "severity": {**GOOD, "severity": f"HIGH{char}"},
        "source": {**GOOD, "source": f"db{char}rules: forged"},
        "name": {**GOOD, "name": f"{char}disk"},
        "context.host": {**GOOD, "context": {"host": f"web-1{char}"}},
        # the key is the caller's text: the field names it with the character escaped
        f"context.k\\u{ord(char):04x}[key]": {**GOOD, "context": {f"k{char}": "v"}},
    }
    for field, body in bodies.items():
        error = refused({"alerts": [GOOD, body]})
        assert error.status == 422, field
        assert error.errors == [(f"alerts[1].{field}", error.errors[0][1])]
        assert f"{code}" in error.errors[0][1] and "is not allowed" in error.errors[0][1]


def test_the_detail_names_the_field_and_the_character() -> None:
    error = refused({"alerts": [GOOD, GOOD, GOOD, {**GOOD, "context": {"host": "a\nb"}}]})
    assert error.detail == "alerts[3].context.host: control character U+000A (LF) is not allowed"


def test_a_tab_is_allowed_in_context_values_only() -> None:
    (alert,) = parse({**GOOD, "context": {"cmd": "ls\t-l"}})
    assert alert.context == {"cmd": "ls\t-l"}
    assert refused({**GOOD, "name": "a\tb"}).errors[0][0] == "name"
    assert refused({**GOOD, "context": {"a\tb": "v"}}).errors[0][0] == "context.a\\u0009b[key]"


@pytest.mark.parametrize("field", ["source", "name"])
def test_whitespace_only_names_are_refused(field: str) -> None:
    error = refused({**GOOD, field: "   "})
    assert error.errors == [(field, "must not be only whitespace")]


def test_loadgen_sources_and_names_follow_the_same_policy() -> None:
    for weights, message in [({"a\nb": 1}, "U+000A"), ({"  ": 1}, "only whitespace")]:
        with pytest.raises(ValidationError) as info:
            JobRequest.model_validate({"rate": 1, "count": 1, "names": weights})
        error = from_validation(info.value, "body")
        assert error.errors[0][0] == "names" and message in error.errors[0][1]


def test_deeply_nested_json_is_a_400_not_a_recursion_error() -> None:
    with pytest.raises(ApiError) as info:
        parse_alerts(b"[" * 100_000 + b"]" * 100_000, NOW)
    assert (info.value.status, info.value.detail) == (400, TOO_DEEP)
