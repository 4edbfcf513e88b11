"""ingest's OpenAPI 3.1 document (``GET /openapi.json``), generated from the pydantic
models the handlers validate with, so the document says what is accepted.

Ingest's routes are few and fixed, so they are listed here rather than declared as
rule-service's operations are; the app builds its routes from the same paths
(``app.ALERTS`` and so on), and a test checks that every route is documented.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from alerting.services.ingest import models
from alerting.services.ingest.sources import AlertmanagerWebhook, PrometheusAlerts
from alerting.web.models import ProblemDetails
from alerting.web.openapi import document
from alerting.web.problems import PROBLEM_JSON

REF = "#/components/schemas/{model}"
Mode = Literal["validation", "serialization"]
ERRORS = {
    400: "Body is not JSON, or nests deeper than 64 levels",
    401: "Missing, invalid or revoked token",
    403: "The token lacks the needed scope (client keys cannot post alerts)",
    404: "No such job (or another caller's)",
    413: "Body too large",
    415: "Body is not application/json",
    422: "Validation error; `errors` names the fields",
    429: "Over the key's alert rate, too many failed authentications, or too many jobs;"
    " see Retry-After",
    503: "Kafka did not acknowledge, or the key could not be checked: nothing was accepted;"
    " retry after Retry-After",
}
POSTED = (400, 401, 403, 413, 415, 422, 429, 503)  # what a post of alerts may answer
READ = (401, 403, 404)


@dataclass(frozen=True)
class Documented:
    method: str
    path: str
    summary: str
    status: int
    response: type[BaseModel]
    body: Sequence[type[BaseModel]] = ()  # one of these
    errors: Sequence[int] = READ
    tag: str = "alerts"


ALERT_ROUTES = (
    Documented(
        "POST",
        "/api/v1/alerts",
        "Post one alert or {alerts: [...]} (1 to 1000); 202 once Kafka acknowledged them",
        202,
        models.AlertIds,
        (models.AlertIn, models.AlertBatch),
        POSTED,
    ),
    Documented(
        "POST",
        "/api/v2/alerts",
        "Prometheus' Alertmanager API v2 alert list (docs/integrations.md); endsAt past: resolved",
        202,
        models.AlertIds,
        (PrometheusAlerts,),
        POSTED,
    ),
    Documented(
        "POST",
        "/api/v1/integrations/alertmanager",
        "Alertmanager's (or Grafana's) webhook payload, version 4; each alert's status decides",
        202,
        models.AlertIds,
        (AlertmanagerWebhook,),
        POSTED,
    ),
)
JOBS = "/api/v1/loadgen/jobs"
JOB = JOBS + "/{job_id}"
JOB_ROUTES = (
    Documented(
        "POST",
        JOBS,
        "Start a load-generator job (admin)",
        202,
        models.JobCreated,
        (models.JobRequest,),
        (400, 401, 403, 413, 415, 422, 429),
        "loadgen",
    ),
    Documented("GET", JOBS, "The caller's jobs (admin)", 200, models.JobList, tag="loadgen"),
    Documented("GET", JOB, "One job (admin)", 200, models.JobStatus, tag="loadgen"),
    Documented("DELETE", JOB, "Cancel a job (admin)", 202, models.JobStatus, tag="loadgen"),
)
ROUTES = (*ALERT_ROUTES, *JOB_ROUTES)


def _operation(route: Documented, refs: Mapping[tuple[Any, Mode], Any]) -> Any:
    problem = {PROBLEM_JSON: {"schema": refs[(ProblemDetails, "serialization")]}}
    responses: dict[str, Any] = {
        str(route.status): {
            "description": "Accepted" if route.status == 202 else "OK",
            "content": {"application/json": {"schema": refs[(route.response, "serialization")]}},
        }
    }
    for status in route.errors:
        responses[str(status)] = {"description": ERRORS[status], "content": problem}
    spec: dict[str, Any] = {
        "operationId": f"{route.method.lower()}{route.path.replace('/', '_')}",
        "summary": route.summary,
        "tags": [route.tag],
        "responses": responses,
    }
    if "{job_id}" in route.path:
        job_id = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
        spec["parameters"] = [job_id]
    if route.body:
        schemas = [refs[(model, "validation")] for model in route.body]
        schema = schemas[0] if len(schemas) == 1 else {"oneOf": schemas}
        content = {"application/json": {"schema": schema}}
        spec["requestBody"] = {"required": True, "content": content}
    return spec


def build(version: str) -> dict[str, Any]:
    wanted: list[tuple[type[BaseModel], Mode]] = [(ProblemDetails, "serialization")]
    for route in ROUTES:
        wanted += [(model, "validation") for model in route.body]
        wanted.append((route.response, "serialization"))
    refs, definitions = models_json_schema(list(dict.fromkeys(wanted)), ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, refs)
    return document(
        title="alerting ingest",
        version=version,
        description="Alerts in (native, Prometheus, Alertmanager) and load-generator jobs.",
        paths=paths,
        schemas=definitions.get("$defs", {}),
    )
