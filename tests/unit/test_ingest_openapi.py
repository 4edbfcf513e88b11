"""ingest's OpenAPI document covers every route the app serves, with the payloads'
own field names and types."""

from __future__ import annotations

from typing import Any, cast

from starlette.routing import Route

from alerting.adapters.kafka import BatchProducer
from alerting.services.ingest import openapi
from alerting.services.ingest.app import OPENAPI, Ingest, create_app
from alerting.services.ingest.jobs import JobManager
from alerting.services.ingest.publish import AlertPublisher
from alerting.services.ingest.rate import KeyRateLimit
from alerting.web.auth import Authenticator

UNDOCUMENTED = {"/healthz", "/readyz", "/metrics", OPENAPI}  # not part of the API


def served_routes() -> set[tuple[str, str]]:
    publisher = AlertPublisher(cast(BatchProducer, None), "alerts.new")  # never started
    ingest = Ingest(publisher, JobManager(publisher.publish), KeyRateLimit(1, 1000))
    app = create_app(ingest, Authenticator(), {})
    return {
        (method.lower(), route.path)
        for route in app.routes
        if isinstance(route, Route) and route.path not in UNDOCUMENTED
        for method in route.methods or ()
        if method != "HEAD"
    }


def test_every_served_route_is_documented_and_nothing_else() -> None:
    document = openapi.build("1")
    documented = {(m, path) for path, ops in document["paths"].items() for m in ops}
    assert documented == served_routes()


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    name = schema["$ref"].rsplit("/", 1)[1]
    resolved: dict[str, Any] = document["components"]["schemas"][name]
    return resolved


def test_the_prometheus_and_alertmanager_bodies_are_their_payloads() -> None:
    document = openapi.build("1")
    v2 = document["paths"]["/api/v2/alerts"]["post"]
    body = resolve(document, v2["requestBody"]["content"]["application/json"]["schema"])
    assert (body["type"], body["minItems"], body["maxItems"]) == ("array", 1, 1000)
    alert = resolve(document, body["items"])
    assert set(alert["properties"]) == {
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "generatorURL",
    }
    assert {"type": "string", "format": "date-time"} in alert["properties"]["startsAt"]["anyOf"]
    assert set(v2["responses"]) == {"202", "400", "401", "403", "413", "415", "422", "429", "503"}

    hook = document["paths"]["/api/v1/integrations/alertmanager"]["post"]
    payload = resolve(document, hook["requestBody"]["content"]["application/json"]["schema"])
    webhook_alert = resolve(document, payload["properties"]["alerts"]["items"])
    assert {"status", "fingerprint", "labels"} <= set(webhook_alert["properties"])
    accepted = hook["responses"]["202"]["content"]["application/json"]["schema"]
    assert resolve(document, accepted)["required"] == ["alert_ids"]
    native = document["paths"]["/api/v1/alerts"]["post"]["requestBody"]["content"]
    assert len(native["application/json"]["schema"]["oneOf"]) == 2  # one alert or a batch
