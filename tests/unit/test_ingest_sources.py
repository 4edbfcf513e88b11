"""Prometheus' and Alertmanager's payloads as ingest reads them: what each becomes, and a
422 that names the payload's own field for whatever a native alert would refuse."""

from __future__ import annotations

import time
from typing import Any

import pytest
from prometheus_client import REGISTRY

from alerting.domain.label_mapping import LabelMapping, fingerprint
from alerting.domain.model import Alert, AlertStatus, Severity
from alerting.services.ingest.sources import prometheus_alerts, webhook_alerts
from alerting.web.problems import ApiError
from tests.source_payloads import rfc3339, webhook_body

# Near the real clock: AlertIn checks event_ts against it (at most a day ahead).
NOW = int(time.time()) // 60 * 60


STARTS = rfc3339(NOW - 600, ".123456789Z")  # Go writes nanoseconds
FIRING_END = rfc3339(NOW + 240)  # Prometheus' endsAt of a still-firing alert
PAST_END = rfc3339(NOW - 60, "+00:00")
LABELS = {"alertname": "HighLatency", "job": "api", "severity": "critical"}


def prom(**fields: Any) -> dict[str, Any]:
    return {"labels": LABELS, "startsAt": STARTS, "endsAt": FIRING_END, **fields}


def errors_of(parse: Any, body: Any) -> list[tuple[str, str]]:
    with pytest.raises(ApiError) as info:
        parse(body, None, NOW)
    assert info.value.status == 422
    return [(field, message) for field, message in info.value.errors]


def test_a_prometheus_alert_becomes_a_firing_alert_at_its_start() -> None:
    body = [prom(annotations={"summary": "slow"}, generatorURL="http://prom/graph", new=1)]
    [alert] = prometheus_alerts(body, None, NOW)
    assert alert == Alert(
        fingerprint(LABELS),
        Severity.CRITICAL,
        "api",
        "HighLatency",
        NOW - 600,  # startsAt, fraction dropped
        {**LABELS, "summary": "slow", "generatorURL": "http://prom/graph"},
        AlertStatus.FIRING,
    )


def test_a_prometheus_alert_whose_end_has_passed_is_resolved_at_its_end() -> None:
    [alert] = prometheus_alerts([prom(endsAt=PAST_END)], None, NOW)
    assert (alert.status, alert.event_ts) == (AlertStatus.RESOLVED, NOW - 60)
    [fired] = prometheus_alerts([prom()], None, NOW)
    assert fired.alert_id == alert.alert_id  # the resolved closes the firing's episode


def test_a_webhook_alert_carries_its_status_and_fingerprint() -> None:
    firing = {
        "status": "firing",
        "labels": LABELS,
        "annotations": {},
        "startsAt": STARTS,
        "endsAt": "0001-01-01T00:00:00Z",  # Alertmanager's "no end"
        "generatorURL": "",
        "fingerprint": "a1b2c3d4e5f60718",
        "silenceURL": "grafana's extra field",
    }
    resolved = {**firing, "status": "resolved", "endsAt": PAST_END}
    alerts = webhook_alerts(webhook_body(firing, resolved), None, NOW)
    assert [(a.alert_id, a.status, a.event_ts) for a in alerts] == [
        ("a1b2c3d4e5f60718", AlertStatus.FIRING, NOW - 600),
        ("a1b2c3d4e5f60718", AlertStatus.RESOLVED, NOW - 60),
    ]
    assert alerts[0].source == "api" and alerts[0].context == LABELS


def test_the_default_source_differs_by_route_unless_the_key_says() -> None:
    labels = {"alertname": "x"}
    assert prometheus_alerts([{"labels": labels}], None, NOW)[0].source == "prometheus"
    [from_am] = webhook_alerts(webhook_body({"labels": labels}), None, NOW)
    assert from_am.source == "alertmanager"
    keyed = LabelMapping(default_source="dc1")
    assert webhook_alerts(webhook_body({"labels": labels}), keyed, NOW)[0].source == "dc1"


def test_the_keys_mapping_applies() -> None:
    mapping = LabelMapping(name_label="title", severity_values=(("p1", Severity.CRITICAL),))
    [alert] = prometheus_alerts([{"labels": {"title": "T", "severity": "P1"}}], mapping, NOW)
    assert (alert.name, alert.severity) == ("T", Severity.CRITICAL)


def test_errors_name_the_payloads_field() -> None:
    body = [
        prom(),
        {"labels": {"job": "api"}},  # no alertname
        prom(labels={**LABELS, "alertname": "a\nb"}),
        prom(labels={**LABELS, "job": "*"}),
        prom(startsAt="1999-12-31T00:00:00Z"),
        prom(endsAt=rfc3339(NOW - 3600), startsAt=rfc3339(NOW - 7200)),  # fine: resolved
    ]
    listed = errors_of(prometheus_alerts, body)
    errors = dict(listed)
    assert [field for field, _ in listed] == [
        "[1].labels.alertname",
        "[2].labels.alertname",
        "[3].labels.job",
        "[4].startsAt",
    ]
    assert "missing" in errors["[1].labels.alertname"]
    assert "U+000A (LF)" in errors["[2].labels.alertname"]
    assert "wildcard" in errors["[3].labels.job"]
    assert "between 2000-01-01" in errors["[4].startsAt"]


def test_context_values_a_native_alert_refuses_are_cleaned_not_refused() -> None:
    annotations = {
        "summary": "Disk full\n",  # YAML's `description: |` keeps the line feed
        "description": "x" * 2000,
        "runbook": "line one\n  VALUE = 3",
    }
    labels = {**LABELS, "bad\u202ekey": "v\u202e"}
    [alert] = prometheus_alerts([prom(labels=labels, annotations=annotations)], None, NOW)
    [hooked] = webhook_alerts(webhook_body(prom(labels=labels, annotations=annotations)), None, NOW)
    for context in (alert.context, hooked.context):
        assert context["summary"] == "Disk full"
        assert context["description"] == "x" * 1023 + "…"
        assert context["runbook"] == "line one   VALUE = 3"
        assert context["bad\\u202ekey"] == "v\\u202e"
        assert "context_truncated" not in context


def test_too_many_labels_keep_the_mapped_ones_and_say_how_many_went() -> None:
    labels = {**LABELS, **{f"l{i:02}": "v" for i in range(40)}}
    before = _dropped("prometheus")
    [alert] = prometheus_alerts([prom(labels=labels, annotations={"summary": "s"})], None, NOW)
    assert len(alert.context) == 32
    assert list(alert.context)[:3] == ["alertname", "severity", "job"]
    assert alert.context["context_truncated"] == "13"  # 44 entries, 31 kept
    assert "l27" in alert.context and "l28" not in alert.context and "summary" not in alert.context
    assert _dropped("prometheus") == before + 13
    assert alert.alert_id == fingerprint(labels)  # the id is still every label's


def _dropped(route: str) -> float:
    value = REGISTRY.get_sample_value(
        "alerting_ingest_context_entries_dropped_total", {"route": route}
    )
    return value or 0.0


def test_truncated_alerts_are_counted_and_never_a_422() -> None:
    def truncated() -> float:
        metric = "alerting_ingest_alertmanager_truncated_alerts_total"
        return REGISTRY.get_sample_value(metric) or 0.0

    before = truncated()
    body = {**webhook_body({"labels": LABELS}), "truncatedAlerts": 7}
    assert len(webhook_alerts(body, None, NOW)) == 1
    assert truncated() == before + 7
    for odd in (-1, "7", None, True):
        assert len(webhook_alerts({**body, "truncatedAlerts": odd}, None, NOW)) == 1
    assert truncated() == before + 7


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2024-W18-3T12:00:00Z", "not an RFC 3339"),  # ISO week date
        ("20240501T120000Z", "not an RFC 3339"),  # ISO basic format
        ("2024-05-01 12:00:00Z", "not an RFC 3339"),  # a space, not T
        ("2024-05-01T12:00Z", "not an RFC 3339"),  # no seconds
        ("2024-05-01", "not an RFC 3339"),
        ("2024-05-01T12:00:00", "needs a UTC offset"),
        ("2024-05-01T12:00:00+0200", "not an RFC 3339"),
        ("2024-13-01T12:00:00Z", "not a valid date and time"),
    ],
)
def test_timestamps_are_rfc_3339_only(value: str, message: str) -> None:
    [(field, text)] = errors_of(prometheus_alerts, [prom(startsAt=value)])
    assert field == "[0].startsAt"
    assert message in text


def test_rfc_3339_takes_either_case_and_any_fraction() -> None:
    iso = rfc3339(NOW - 600, "")
    for variant in (iso + "z", iso.replace("T", "t") + "Z", iso + ".5+00:00", iso + ".123456789Z"):
        [alert] = prometheus_alerts([prom(startsAt=variant)], None, NOW)
        assert alert.event_ts == NOW - 600, variant


def test_a_resolved_alert_with_an_impossible_end_names_ends_at() -> None:
    errors = errors_of(prometheus_alerts, [prom(endsAt="1990-01-01T00:00:00Z")])
    assert [field for field, _ in errors] == ["[0].endsAt"]


def test_webhook_errors_are_named_under_alerts() -> None:
    good = {"status": "firing", "labels": LABELS}
    body = webhook_body(
        good,
        {**good, "status": "pending"},
        {**good, "fingerprint": "not a fingerprint!"},
        {**good, "labels": {**LABELS, "service": ""}, "startsAt": "yesterday"},
    )
    fields = [field for field, _ in errors_of(webhook_alerts, body)]
    assert fields == ["alerts[1].status", "alerts[3].startsAt"]  # the shape, first
    bad_fingerprint = webhook_body(good, body["alerts"][2])
    fields = [field for field, _ in errors_of(webhook_alerts, bad_fingerprint)]
    assert fields == ["alerts[1].fingerprint"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"labels": LABELS}, "body"),  # not a list
        ([{"annotations": {}}], "[0].labels"),
        ([{"labels": {"alertname": 1}}], "[0].labels.alertname"),
        ([{"labels": LABELS, "startsAt": rfc3339(NOW, "")}], "[0].startsAt"),  # no offset
        ([prom()] * 1001, "body"),
    ],
)
def test_a_malformed_prometheus_body_is_a_422_naming_the_field(body: Any, field: str) -> None:
    assert [f for f, _ in errors_of(prometheus_alerts, body)] == [field]


def test_a_webhook_needs_alerts() -> None:
    assert [f for f, _ in errors_of(webhook_alerts, {"version": "4"})] == ["alerts"]
    assert [f for f, _ in errors_of(webhook_alerts, webhook_body())] == ["alerts"]
