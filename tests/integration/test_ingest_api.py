"""`alerting ingest` as a real process against the session's broker and database:
alerts reach the topic keyed by their id, auth scopes, and every error status."""

from __future__ import annotations

import httpx
import pytest

from alerting.config import Settings
from alerting.domain.model import AlertStatus, Severity
from tests.integration.ingest_support import admin_http, ingest, make_key, posted, topic_of
from tests.processes import ServiceProcess

__all__ = ["admin_http", "ingest"]
pytestmark = pytest.mark.integration
ALERTS = "/api/v1/alerts"


async def test_ready_with_kafka(admin_http: httpx.AsyncClient) -> None:
    ready = await admin_http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}  # no per-check details (issue 13, item 12)


async def test_one_alert_and_a_batch_reach_the_topic_keyed_by_id(
    admin_http: httpx.AsyncClient, ingest: ServiceProcess, settings: Settings, unique: str
) -> None:
    source = f"src-{unique}"
    one = await admin_http.post(
        ALERTS,
        json={"severity": "critical", "source": source, "name": "disk", "context": {"k": "v"}},
    )
    assert one.status_code == 202, one.text
    (single_id,) = one.json()["alert_ids"]
    batch = {
        "alerts": [
            {"severity": "LOW", "source": source, "name": f"n{i}", "event_ts": 1_700_000_000 + i}
            for i in range(3)
        ]
        + [{"alert_id": f"given-{unique}", "severity": "HIGH", "source": source, "name": "x"}]
    }
    many = await admin_http.post(ALERTS, json=batch)
    assert many.status_code == 202, many.text
    ids = many.json()["alert_ids"]
    assert len(ids) == 4 and ids[3] == f"given-{unique}"

    found = await posted(settings.kafka, topic_of(ingest), [single_id, *ids])
    assert sorted(key.decode() for key, _ in found) == sorted([single_id, *ids])
    assert all(key.decode() == alert.alert_id and alert.source == source for key, alert in found)
    by_id = {alert.alert_id: alert for _, alert in found}
    assert by_id[single_id].severity is Severity.CRITICAL
    assert by_id[single_id].context == {"k": "v"}
    assert by_id[ids[2]].event_ts == 1_700_000_002


async def test_the_same_alert_twice_gets_the_same_id(
    admin_http: httpx.AsyncClient, ingest: ServiceProcess, settings: Settings, unique: str
) -> None:
    alert = {"severity": "HIGH", "source": f"dup-{unique}", "name": "n", "event_ts": 1_700_000_000}
    first = (await admin_http.post(ALERTS, json=alert)).json()["alert_ids"]
    again = (await admin_http.post(ALERTS, json=alert)).json()["alert_ids"]
    assert first == again
    found = await posted(settings.kafka, topic_of(ingest), first)
    assert [key.decode() for key, _ in found] == first * 2  # both produced; deduped downstream


async def test_a_resolved_alert_reaches_the_topic_with_its_firings_id(
    admin_http: httpx.AsyncClient, ingest: ServiceProcess, settings: Settings, unique: str
) -> None:
    alert = {"severity": "HIGH", "source": f"rs-{unique}", "name": "n", "event_ts": 1_700_000_000}
    fired = (await admin_http.post(ALERTS, json=alert)).json()["alert_ids"]
    resolved = await admin_http.post(ALERTS, json={**alert, "status": "resolved"})
    assert resolved.status_code == 202, resolved.text
    assert resolved.json()["alert_ids"] == fired
    found = await posted(settings.kafka, topic_of(ingest), fired)
    assert [a.status for _, a in found] == [AlertStatus.FIRING, AlertStatus.RESOLVED]


async def test_a_resolved_alert_without_its_firings_identity_is_a_422(
    admin_http: httpx.AsyncClient,
) -> None:
    good = {"severity": "LOW", "source": "s", "name": "n"}
    unnamed = await admin_http.post(
        ALERTS, json={"alerts": [good, good, good, {**good, "status": "resolved"}]}
    )
    assert unnamed.status_code == 422
    assert unnamed.headers["content-type"] == "application/problem+json"
    [error] = unnamed.json()["errors"]
    assert error["field"] == "alerts[3].status"
    assert "needs the alert_id (or the event_ts)" in error["message"]
    unknown = await admin_http.post(ALERTS, json={**good, "status": "ok", "alert_id": "x"})
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json()["errors"]] == ["status"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_auth_scopes(ingest: ServiceProcess, settings: Settings, unique: str) -> None:
    alert = {"severity": "LOW", "source": f"auth-{unique}", "name": "n"}
    ingest_key = await make_key(settings, "ingest")
    client_key = await make_key(settings, "client", f"c-{unique}")
    async with httpx.AsyncClient(base_url=ingest.url) as http:
        missing = await http.post(ALERTS, json=alert)
        assert missing.status_code == 401
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.headers["www-authenticate"].startswith("Bearer")
        for token in ("nope", "alk_000000000000_bad", ingest_key + "x"):
            wrong = await http.post(ALERTS, json=alert, headers=bearer(token))
            assert wrong.status_code == 401, token
        as_client = await http.post(ALERTS, json=alert, headers=bearer(client_key))
        assert as_client.status_code == 403
        assert "client keys" in as_client.json()["detail"]
        jobs_as_client = await http.get("/api/v1/loadgen/jobs", headers=bearer(client_key))
        assert jobs_as_client.status_code == 403
        accepted = await http.post(ALERTS, json=alert, headers=bearer(ingest_key))
        assert accepted.status_code == 202, accepted.text
    found = await posted(settings.kafka, topic_of(ingest), accepted.json()["alert_ids"])
    assert len(found) == 1


async def test_validation_errors_name_the_field(admin_http: httpx.AsyncClient) -> None:
    good = {"severity": "LOW", "source": "s", "name": "n"}
    bad = await admin_http.post(
        ALERTS, json={"alerts": [good, good, good, {**good, "severity": "x"}]}
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in bad.json()["errors"]] == ["alerts[3].severity"]
    wildcard = await admin_http.post(ALERTS, json={**good, "name": "*"})
    assert wildcard.status_code == 422
    assert wildcard.json()["errors"][0]["field"] == "name"
    extra = await admin_http.post(ALERTS, json={**good, "priority": 1})
    assert extra.json()["errors"][0]["field"] == "priority"


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"severity": "LOW", ', "application/json", 400),
        (b"[1, 2", "application/json", 400),
        (b"x" * (1024 * 1024 + 1), "application/json", 413),
        (b'{"severity": "LOW", "source": "s", "name": "n"}', "text/plain", 415),
    ],
)
async def test_malformed_large_and_non_json_bodies(
    admin_http: httpx.AsyncClient, body: bytes, content_type: str, status: int
) -> None:
    response = await admin_http.post(ALERTS, content=body, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_unknown_routes_and_methods_answer_problems(admin_http: httpx.AsyncClient) -> None:
    assert (await admin_http.get("/api/v1/nothing")).status_code == 404
    wrong_method = await admin_http.get(ALERTS)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == "application/problem+json"


async def test_metrics_count_accepted_and_rejected_alerts(admin_http: httpx.AsyncClient) -> None:
    await admin_http.post(ALERTS, json={"severity": "LOW", "source": "m", "name": "n"})
    await admin_http.post(ALERTS, json={"severity": "LOW", "source": "m"})
    text = (await admin_http.get("/metrics")).text
    assert 'alerting_ingest_alerts_accepted_total{via="api"}' in text
    assert 'alerting_ingest_alerts_rejected_total{reason="invalid"}' in text
    assert 'alerting_ingest_request_seconds_bucket{le="0.002",method="POST"' in text


DEEP = b"[" * 2000 + b"]" * 2000  # 4 KB: what answered 500 with a traceback per request


async def test_deeply_nested_json_is_a_400_naming_the_limit_with_no_traceback(
    admin_http: httpx.AsyncClient, ingest: ServiceProcess
) -> None:
    logged = ingest.log_path.stat().st_size
    deep_object = b'{"alerts": ' + b"[" * 65 + b"]" * 65 + b"}"
    for body in (DEEP, deep_object):
        response = await admin_http.post(ALERTS, content=body)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == "request body nests deeper than 64 levels"
    with ingest.log_path.open("rb") as log:
        log.seek(logged)
        assert b"Traceback" not in log.read()


# One character of each class that would forge a line or reorder text in an email or a
# Slack message, where it appears.
FORGED = [
    pytest.param({"source": "db\nrules: all"}, "alerts[0].source", "U+000A", id="LF"),
    pytest.param({"name": "disk\r\nSubject: x"}, "alerts[0].name", "U+000D", id="CR"),
    pytest.param({"context": {"host": "\x1b[31mred"}}, "alerts[0].context.host", "U+001B", id="C0"),
    pytest.param({"context": {"k\x85": "v"}}, "alerts[0].context.k\\u0085[key]", "U+0085", id="C1"),
    pytest.param({"name": "txt.exe\u202egpj"}, "alerts[0].name", "U+202E", id="bidi-override"),
    pytest.param({"context": {"a": "\u2066x"}}, "alerts[0].context.a", "U+2066", id="isolate"),
    pytest.param({"severity": "HIGH\n"}, "alerts[0].severity", "U+000A", id="severity"),
    pytest.param({"name": "   "}, "alerts[0].name", "only whitespace", id="whitespace-only"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "field", "message"), FORGED)
async def test_forging_characters_are_a_422_naming_the_field(
    admin_http: httpx.AsyncClient, change: dict[str, object], field: str, message: str
) -> None:
    alert = {"severity": "LOW", "source": "s", "name": "n", **change}
    response = await admin_http.post(ALERTS, json={"alerts": [alert]})
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["field"] == field
    assert message in error["message"]
    assert response.json()["detail"].startswith(f"{field}: ")


async def test_a_tab_in_a_context_value_is_accepted(
    admin_http: httpx.AsyncClient, ingest: ServiceProcess, settings: Settings
) -> None:
    alert = {"severity": "LOW", "source": "s", "name": "tab", "context": {"cmd": "ls\t-l"}}
    accepted = await admin_http.post(ALERTS, json=alert)
    assert accepted.status_code == 202, accepted.text
    ((_, found),) = await posted(settings.kafka, topic_of(ingest), accepted.json()["alert_ids"])
    assert found.context == {"cmd": "ls\t-l"}
