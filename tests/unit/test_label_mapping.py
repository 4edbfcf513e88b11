"""The Prometheus/Alertmanager label mapping: defaults, per-key overrides, ids, status."""

from __future__ import annotations

import pytest

from alerting.domain.foreign_context import ContextLimits
from alerting.domain.label_mapping import (
    DEFAULT_MAPPING,
    LabelMapping,
    MappedAlert,
    MappingError,
    SourceAlert,
    fingerprint,
    map_alert,
)
from alerting.domain.model import AlertStatus, Severity

NOW = 1_800_000_000.0
LABELS = {"alertname": "HighLatency", "job": "api", "instance": "web-1:9100"}


LIMITS = ContextLimits(32, 128, 1024)


def mapped(
    alert: SourceAlert, mapping: LabelMapping = DEFAULT_MAPPING, max_context: int = 32
) -> MappedAlert:
    return map_alert(alert, mapping, "prometheus", NOW, ContextLimits(max_context, 128, 1024))


@pytest.mark.parametrize(
    ("value", "severity"),
    [
        ("critical", Severity.CRITICAL),
        ("CRITICAL", Severity.CRITICAL),
        ("error", Severity.HIGH),
        ("High", Severity.HIGH),
        ("warning", Severity.MEDIUM),
        (" Warning ", Severity.MEDIUM),
        ("info", Severity.LOW),
        ("none", Severity.LOW),
        ("page-me", Severity.HIGH),  # unknown: the default, never an error
        ("", Severity.HIGH),
    ],
)
def test_severity_label_values(value: str, severity: Severity) -> None:
    alert = SourceAlert({**LABELS, "severity": value})
    assert mapped(alert).severity is severity


def test_a_missing_severity_label_is_the_default_and_the_key_may_change_it() -> None:
    assert mapped(SourceAlert(LABELS)).severity is Severity.HIGH
    low = LabelMapping(default_severity=Severity.LOW)
    assert mapped(SourceAlert(LABELS), low).severity is Severity.LOW


def test_defaults_name_source_context_and_times() -> None:
    alert = SourceAlert(
        {**LABELS, "severity": "warning"},
        {"summary": "p99 over 1s"},
        starts_at=NOW - 600,
        ends_at=NOW + 180,  # Prometheus' "still firing" endsAt, a few minutes ahead
        generator_url="http://prom:9090/graph?g0.expr=x",
    )
    result = mapped(alert)
    assert (result.name, result.source, result.severity) == ("HighLatency", "api", Severity.MEDIUM)
    assert result.status is AlertStatus.FIRING
    assert result.event_ts == NOW - 600
    assert result.context == {
        **LABELS,
        "severity": "warning",
        "summary": "p99 over 1s",
        "generatorURL": "http://prom:9090/graph?g0.expr=x",
    }
    assert result.alert_id == fingerprint(alert.labels)


def test_service_wins_over_job_and_neither_is_the_routes_default() -> None:
    assert mapped(SourceAlert({**LABELS, "service": "checkout"})).source == "checkout"
    no_source = SourceAlert({"alertname": "x"})
    assert mapped(no_source).source == "prometheus"
    from_am = map_alert(no_source, DEFAULT_MAPPING, "alertmanager", NOW, LIMITS)
    assert from_am.source == "alertmanager"
    keyed = LabelMapping(default_source="edge-prom")
    assert mapped(no_source, keyed).source == "edge-prom"
    assert mapped(SourceAlert({**LABELS, "service": ""})).source == "api"  # empty is absent


def test_a_key_mapping_overrides_every_label() -> None:
    mapping = LabelMapping.from_stored(
        {
            "name_label": "title",
            "severity_label": "priority",
            "source_labels": ["team"],
            "severity_values": {"P1": "critical", "p3": "MEDIUM"},
            "default_severity": "low",
        }
    )
    assert mapping is not None
    labels = {"title": "DiskFull", "priority": "p1", "team": "storage", "job": "node"}
    result = mapped(SourceAlert(labels), mapping)
    assert (result.name, result.source, result.severity) == (
        "DiskFull",
        "storage",
        Severity.CRITICAL,
    )
    assert mapped(SourceAlert({**labels, "priority": "P3"}), mapping).severity is Severity.MEDIUM
    # the defaults' values still apply, and the key's default for an unknown one
    assert (
        mapped(SourceAlert({**labels, "priority": "warning"}), mapping).severity is Severity.MEDIUM
    )
    assert mapped(SourceAlert({**labels, "priority": "p9"}), mapping).severity is Severity.LOW
    assert mapped(SourceAlert({"title": "x"}), mapping).source == "prometheus"


def test_a_stored_mapping_keeps_the_defaults_it_does_not_name() -> None:
    assert LabelMapping.from_stored(None) is None
    assert LabelMapping.from_stored({}) == DEFAULT_MAPPING
    only_name = LabelMapping.from_stored({"name_label": "title", "default_source": None})
    assert only_name == LabelMapping(name_label="title")


def test_the_fingerprint_is_alertmanagers() -> None:
    # prometheus/common's own vectors (model.LabelsToSignature, which Alertmanager's
    # fingerprint is), and the value Alertmanager 0.25 answered for the label set below.
    assert fingerprint({}) == "cbf29ce484222325"
    vector = {"name": "garland, briggs", "fear": "love is not enough"}
    assert fingerprint(vector) == f"{5799056148416392346:016x}"
    utf8 = {"alertname": "Up", "job": "node", "z": "ü", "Ab": "x", "a": "y", "_b": "é"}
    assert fingerprint(utf8) == "6eb4f8d2075138c9"


def test_same_labels_same_id_in_any_order_and_annotations_do_not_count() -> None:
    one = SourceAlert({"a": "1", "alertname": "x", "b": "2"}, {"summary": "s"}, starts_at=NOW)
    other = SourceAlert({"b": "2", "alertname": "x", "a": "1"}, {"summary": "t"}, NOW + 60)
    assert mapped(one).alert_id == mapped(other).alert_id
    assert mapped(SourceAlert({"alertname": "x", "a": "1"})).alert_id != mapped(one).alert_id


def test_the_webhooks_fingerprint_is_the_id() -> None:
    alert = SourceAlert(LABELS, fingerprint="0123456789abcdef")
    result = mapped(alert)
    assert result.alert_id == "0123456789abcdef"
    assert result.origins["alert_id"] == ("fingerprint",)


def test_resolved_by_ends_at_in_the_past_with_ends_at_as_the_event_time() -> None:
    resolved = mapped(SourceAlert(LABELS, starts_at=NOW - 600, ends_at=NOW - 30))
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.event_ts == NOW - 30
    assert resolved.origins["event_ts"] == ("endsAt",)
    at_now = mapped(SourceAlert(LABELS, starts_at=NOW - 600, ends_at=NOW))
    assert at_now.status is AlertStatus.RESOLVED
    firing = mapped(SourceAlert(LABELS, starts_at=NOW - 600))  # no endsAt: firing
    assert (firing.status, firing.event_ts) == (AlertStatus.FIRING, NOW - 600)


def test_the_webhooks_own_status_decides() -> None:
    # Alertmanager's firing alerts carry the zero endsAt (parsed to None); its resolved
    # ones carry their end, which is the event time.
    firing = mapped(SourceAlert(LABELS, starts_at=NOW - 60, status=AlertStatus.FIRING))
    assert (firing.status, firing.event_ts) == (AlertStatus.FIRING, NOW - 60)
    resolved = SourceAlert(LABELS, starts_at=NOW - 60, ends_at=NOW - 5, status=AlertStatus.RESOLVED)
    assert (mapped(resolved).status, mapped(resolved).event_ts) == (AlertStatus.RESOLVED, NOW - 5)
    # a status that disagrees with endsAt: the status wins
    future_end = SourceAlert(LABELS, ends_at=NOW + 60, status=AlertStatus.RESOLVED)
    assert mapped(future_end).status is AlertStatus.RESOLVED


def test_without_times_the_event_is_ingests_now() -> None:
    assert mapped(SourceAlert(LABELS)).event_ts == NOW
    resolved = mapped(SourceAlert(LABELS, status=AlertStatus.RESOLVED))
    assert (resolved.event_ts, resolved.origins["event_ts"]) == (NOW, ())


def test_an_annotation_named_like_a_label_is_prefixed() -> None:
    alert = SourceAlert({"alertname": "x", "summary": "label"}, {"summary": "annotation"})
    result = mapped(alert)
    assert result.context == {
        "alertname": "x",
        "summary": "label",
        "annotations.summary": "annotation",
    }
    assert result.context_origins["annotations.summary"] == ("annotations", "summary")


def test_a_context_key_taken_twice_is_suffixed_not_refused() -> None:
    alert = SourceAlert(
        {"alertname": "x", "s": "1", "annotations.s": "2", "generatorURL": "label"},
        {"s": "3"},
        generator_url="http://prom/graph",
    )
    result = mapped(alert)
    assert result.context == {
        "alertname": "x",
        "annotations.s": "2",
        "generatorURL": "label",
        "s": "1",
        "annotations.s_2": "3",
        "generatorURL_2": "http://prom/graph",
    }
    assert result.context_origins["annotations.s_2"] == ("annotations", "s")
    assert result.context_dropped == 0


def test_a_missing_name_label_is_an_error_naming_it() -> None:
    with pytest.raises(MappingError) as info:
        mapped(SourceAlert({"job": "api"}))
    assert info.value.loc == ("labels", "alertname")
    with pytest.raises(MappingError) as renamed:
        mapped(SourceAlert(LABELS), LabelMapping(name_label="title"))
    assert renamed.value.loc == ("labels", "title")


def test_over_the_limit_the_mapped_labels_are_kept_first_and_the_drop_is_counted() -> None:
    labels = {"alertname": "x", "a": "1", "b": "2", "severity": "critical", "job": "api"}
    alert = SourceAlert(labels, {"summary": "s"}, generator_url="http://p")
    fits = mapped(alert, max_context=7)  # 5 labels, 1 annotation, the URL: all fit
    assert (len(fits.context), fits.context_dropped) == (7, 0)
    result = mapped(alert, max_context=4)
    # name, severity, source labels first; the marker counts in the limit
    assert result.context == {
        "alertname": "x",
        "severity": "critical",
        "job": "api",
        "context_truncated": "4",
    }
    assert result.context_dropped == 4
    assert result.severity is Severity.CRITICAL  # read from the labels, kept or not
    renamed = LabelMapping(name_label="title", severity_label="p", source_labels=("team",))
    keyed = mapped(SourceAlert({"a": "1", "p": "p1", "title": "t", "team": "z"}), renamed, 3)
    assert list(keyed.context) == ["title", "p", "context_truncated"]
