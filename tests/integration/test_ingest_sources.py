"""Prometheus (`POST /api/v2/alerts`) and Alertmanager (`POST /api/v1/integrations/
alertmanager`) as sources, on a real `alerting ingest` process against the session's
broker and database: what reaches the topic, auth, 422s naming the payload's field, and
an ingest key's own label mapping."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from alerting.config import Settings
from alerting.domain.label_mapping import fingerprint
from alerting.domain.model import AlertStatus, Severity
from alerting.services.rule_service.models.keys import LabelMapping
from tests.integration.ingest_support import admin_http, ingest, make_key, posted, topic_of
from tests.processes import ServiceProcess
from tests.source_payloads import rfc3339, webhook_body

__all__ = ["admin_http", "ingest"]
pytestmark = pytest.mark.integration
PROMETHEUS = "/api/v2/alerts"
WEBHOOK = "/api/v1/integrations/alertmanager"


def prometheus_alert(labels: dict[str, str], starts: float, ends: float) -> dict[str, Any]:
    """What Prometheus' notifier posts for one alert."""
    return {
        "labels": labels,
        "annotations": {"summary": f"{labels['alertname']} is slow"},
        "startsAt": rfc3339(starts),
        "endsAt": rfc3339(ends),
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0",
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_prometheus_firing_then_resolved_reach_the_topic_as_one_alert(
    admin_http: httpx.AsyncClient, ingest: ServiceProcess, settings: Settings, unique: str
) -> None:
    now = time.time()
    labels = {"alertname": "HighLatency", "job": f"api-{unique}", "severity": "warning"}
    firing = prometheus_alert(labels, now - 300, now + 240)  # endsAt ahead: still firing
    fired = await admin_http.post(PROMETHEUS, json=[firing])
    assert fired.status_code == 202, fired.text
    assert fired.json() == {"alert_ids": [fingerprint(labels)]}
    resolved = await admin_http.post(PROMETHEUS, json=[{**firing, "endsAt": rfc3339(now - 5)}])
    assert resolved.status_code == 202, resolved.text
    assert resolved.json() == fired.json()

    found = await posted(settings.kafka, topic_of(ingest), fired.json()["alert_ids"])
    assert [(a.status, a.event_ts) for _, a in found] == [
        (AlertStatus.FIRING, int(now - 300)),
        (AlertStatus.RESOLVED, int(now - 5)),
    ]
    _, alert = found[0]
    assert (alert.name, alert.source, alert.severity) == (
        "HighLatency",
        labels["job"],
        Severity.MEDIUM,
    )
    assert alert.context == {
        **labels,
        "summary": "HighLatency is slow",
        "generatorURL": firing["generatorURL"],
    }


async def test_alertmanager_webhook_alerts_carry_their_own_status_and_fingerprint(
    admin_http: httpx.AsyncClient, ingest: ServiceProcess, settings: Settings, unique: str
) -> None:
    now = time.time()
    fp = uuid.uuid4().hex[:16]  # Alertmanager's fingerprints are 16 hex digits
    common = {
        "labels": {"alertname": "DiskFull", "service": f"db-{unique}", "severity": "critical"},
        "annotations": {},
        "startsAt": rfc3339(now - 120),
        "generatorURL": "",
        "fingerprint": fp,
    }
    firing = {**common, "status": "firing", "endsAt": "0001-01-01T00:00:00Z"}
    resolved = {**common, "status": "resolved", "endsAt": rfc3339(now - 10)}
    # Grafana's webhook contact point adds fields of its own: ignored.
    grafana = {**webhook_body(firing, resolved), "orgId": 1, "title": "[FIRING:1]", "state": "x"}
    answer = await admin_http.post(WEBHOOK, json=grafana)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"alert_ids": [fp, fp]}
    found = await posted(settings.kafka, topic_of(ingest), [fp])
    assert [(a.status, a.event_ts, a.severity) for _, a in found] == [
        (AlertStatus.FIRING, int(now - 120), Severity.CRITICAL),
        (AlertStatus.RESOLVED, int(now - 10), Severity.CRITICAL),
    ]
    assert all(a.source == f"db-{unique}" for _, a in found)


async def test_auth_on_both_routes(ingest: ServiceProcess, settings: Settings, unique: str) -> None:
    labels = {"alertname": "Auth", "job": f"auth-{unique}"}
    bodies = {PROMETHEUS: [{"labels": labels}], WEBHOOK: webhook_body({"labels": labels})}
    ingest_key = await make_key(settings, "ingest")
    client_key = await make_key(settings, "client", f"c-{unique}")
    async with httpx.AsyncClient(base_url=ingest.url, timeout=30) as http:
        for route, body in bodies.items():
            missing = await http.post(route, json=body)
            assert missing.status_code == 401, route
            assert missing.headers["www-authenticate"].startswith("Bearer")
            wrong = await http.post(route, json=body, headers=bearer(ingest_key + "x"))
            assert wrong.status_code == 401, route
            as_client = await http.post(route, json=body, headers=bearer(client_key))
            assert as_client.status_code == 403, route
            assert as_client.headers["content-type"] == "application/problem+json"
            accepted = await http.post(route, json=body, headers=bearer(ingest_key))
            assert accepted.status_code == 202, accepted.text
            assert accepted.json() == {"alert_ids": [fingerprint(labels)]}


async def test_an_unmappable_alert_is_a_422_naming_the_payloads_field_and_nothing_is_published(
    admin_http: httpx.AsyncClient, ingest: ServiceProcess, settings: Settings, unique: str
) -> None:
    good = {"labels": {"alertname": "Fine", "job": f"bad-{unique}"}}
    no_name = {"labels": {"job": "x"}}
    forged = {"labels": {"alertname": "a\nrules: all", "job": "x"}}
    refused = await admin_http.post(PROMETHEUS, json=[good, no_name, forged])
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    errors = refused.json()["errors"]
    assert [e["field"] for e in errors] == ["[1].labels.alertname", "[2].labels.alertname"]
    assert "U+000A (LF)" in errors[1]["message"]

    not_a_list = await admin_http.post(PROMETHEUS, json={"alerts": [good]})
    assert not_a_list.status_code == 422
    assert await posted(settings.kafka, topic_of(ingest), [fingerprint(good["labels"])], 3) == []


async def test_context_a_native_alert_would_refuse_is_cleaned_on_both_routes(
    admin_http: httpx.AsyncClient, ingest: ServiceProcess, settings: Settings, unique: str
) -> None:
    annotations = {"summary": "Disk full\n", "description": "d" * 2000}
    many = {f"l{i:02}": "v" for i in range(40)}
    firing = {"status": "firing", "annotations": annotations}
    prom = {"labels": {"alertname": "Clean", "job": f"p-{unique}"}, "annotations": annotations}
    hooked = {**firing, "labels": {"alertname": "Clean", "job": f"w-{unique}", **many}}
    ids = []
    for route, body in ((PROMETHEUS, [prom]), (WEBHOOK, webhook_body(hooked))):
        answer = await admin_http.post(route, json=body)
        assert answer.status_code == 202, answer.text
        ids += answer.json()["alert_ids"]
    found = {a.source: a for _, a in await posted(settings.kafka, topic_of(ingest), ids)}
    from_prometheus, from_webhook = found[f"p-{unique}"], found[f"w-{unique}"]
    assert from_prometheus.context == {
        **prom["labels"],
        "summary": "Disk full",
        "description": "d" * 1023 + "…",
    }
    # 42 labels and 2 annotations: the name and source first, the marker counted in 32
    assert len(from_webhook.context) == 32
    assert from_webhook.context["context_truncated"] == "13"
    assert {"alertname", "job", "l00", "l28"} <= set(from_webhook.context)
    assert not {"l29", "summary", "description"} & set(from_webhook.context)


async def test_an_ingest_keys_label_mapping_is_applied(
    ingest: ServiceProcess, settings: Settings, unique: str
) -> None:
    mapping = LabelMapping.model_validate(
        {
            "name_label": "title",
            "source_labels": ["team"],
            "severity_values": {"P1": "critical"},
            "default_severity": "low",
            "default_source": f"edge-{unique}",
        }
    ).stored()
    keyed = await make_key(settings, "ingest", label_mapping=mapping)
    plain = await make_key(settings, "ingest")
    paged = {"title": "Checkout down", "team": f"shop-{unique}", "severity": "p1"}
    quiet = {"title": "Queue deep", "severity": "whatever", "run": unique}
    async with httpx.AsyncClient(base_url=ingest.url, timeout=30) as http:
        mapped = await http.post(
            WEBHOOK,
            json=webhook_body({"labels": paged}, {"labels": quiet}),
            headers=bearer(keyed),
        )
        assert mapped.status_code == 202, mapped.text
        # Another key keeps the defaults: no alertname label, no name.
        unmapped = await http.post(PROMETHEUS, json=[{"labels": paged}], headers=bearer(plain))
        assert unmapped.status_code == 422
        assert [e["field"] for e in unmapped.json()["errors"]] == ["[0].labels.alertname"]
    found = await posted(settings.kafka, topic_of(ingest), mapped.json()["alert_ids"])
    by_name = {a.name: a for _, a in found}
    assert (by_name["Checkout down"].source, by_name["Checkout down"].severity) == (
        f"shop-{unique}",
        Severity.CRITICAL,
    )
    assert (by_name["Queue deep"].source, by_name["Queue deep"].severity) == (
        f"edge-{unique}",
        Severity.LOW,
    )


async def test_a_malformed_stored_mapping_means_the_defaults_not_a_500(
    ingest: ServiceProcess, settings: Settings, unique: str
) -> None:
    # What the API would never store (a hand edit, an older version): a string where an
    # object belongs, and a severity outside the four.
    broken = await make_key(settings, "ingest", label_mapping={"severity_values": "P1"})
    odd = await make_key(settings, "ingest", label_mapping={"default_severity": "page"})
    labels = {"alertname": "Defaults", "job": f"m-{unique}", "severity": "warning"}
    async with httpx.AsyncClient(base_url=ingest.url, timeout=30) as http:
        for token in (broken, odd, broken):
            answer = await http.post(PROMETHEUS, json=[{"labels": labels}], headers=bearer(token))
            assert answer.status_code == 202, answer.text
    [(_, alert), *_] = await posted(settings.kafka, topic_of(ingest), [fingerprint(labels)])
    assert (alert.name, alert.severity) == ("Defaults", Severity.MEDIUM)
    assert ingest.logs().count("stored label_mapping is malformed") == 2  # once per key


async def test_the_openapi_document_is_served_to_callers_with_a_token(
    admin_http: httpx.AsyncClient, ingest: ServiceProcess
) -> None:
    document = await admin_http.get("/openapi.json")
    assert document.status_code == 200
    paths = document.json()["paths"]
    assert {PROMETHEUS, WEBHOOK, "/api/v1/alerts"} <= set(paths)
    assert paths[PROMETHEUS]["post"]["responses"]["202"]
    async with httpx.AsyncClient(base_url=ingest.url) as anonymous:
        assert (await anonymous.get("/openapi.json")).status_code == 401
