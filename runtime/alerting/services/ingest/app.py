"""The ingest HTTP API: alerts in (native, Prometheus' API v2 list, Alertmanager's
webhook), load-generator jobs, the OpenAPI document, health and metrics.

Alerts take the admin token or an ingest key. Load-generator jobs take the admin token
only: a job produces up to 50,000 alerts/s from inside ingest, an operator's tool that
an upstream system's key must not reach.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from alerting.domain.label_mapping import LabelMapping
from alerting.domain.model import Alert
from alerting.http import ReadinessCheck, health_routes
from alerting.services.ingest import openapi, web
from alerting.services.ingest.jobs import Job, JobManager, TooManyJobs
from alerting.services.ingest.models import (
    AlertBatch,
    AlertIds,
    AlertIn,
    JobCreated,
    JobList,
    JobRequest,
)
from alerting.services.ingest.publish import REJECTED, AlertPublisher, KafkaUnavailable
from alerting.services.ingest.rate import KeyRateLimit
from alerting.services.ingest.sources import prometheus_alerts, webhook_alerts
from alerting.web import problems
from alerting.web.app import problem_app
from alerting.web.auth import Authenticator, Principal, Scope
from alerting.web.body import MAX_BODY_BYTES, too_deep
from alerting.web.endpoint import RequestHandler
from alerting.web.problems import ApiError

M = TypeVar("M", bound=BaseModel)
ForeignParser = Callable[[Any, LabelMapping | None, int], list[Alert]]
# 1000 alerts with modest contexts; a batch is one Kafka request, kept well under its cap.
MAX_ALERTS_BODY_BYTES = 1024 * 1024
ALERTS = "/api/v1/alerts"
PROMETHEUS_ALERTS = "/api/v2/alerts"  # where Prometheus posts to an Alertmanager
ALERTMANAGER_WEBHOOK = "/api/v1/integrations/alertmanager"
JOBS = openapi.JOBS
OPENAPI = "/openapi.json"
API_VERSION = "1.0.0"
LOADGEN_REQUIRES = (Scope.ADMIN,)


def _validated(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise problems.from_validation(exc, "body") from None


def parse_alerts(raw: bytes, now: int) -> list[Alert]:
    """One alert object or ``{"alerts": [...]}`` -> domain alerts, or a 400/422 ApiError."""
    body: Any = None
    try:
        body = _json_body(raw)
        batch = isinstance(body, dict) and "alerts" in body
        items = _validated(AlertBatch, body).alerts if batch else [_validated(AlertIn, body)]
    except ApiError:
        listed = body.get("alerts") if isinstance(body, dict) else None
        REJECTED.labels("invalid").inc(len(listed) if isinstance(listed, list) else 1)
        raise
    return [item.to_alert(now) for item in items]


def parse_foreign(parse: ForeignParser, raw: bytes, caller: Principal, now: int) -> list[Alert]:
    """A Prometheus or Alertmanager payload -> domain alerts under the caller's label
    mapping (an ingest key's override, else the defaults), or a 400/422 ApiError."""
    body: Any = None
    try:
        body = _json_body(raw)
        return parse(body, caller.label_mapping, now)
    except ApiError:
        listed = body.get("alerts") if isinstance(body, dict) else body
        REJECTED.labels("invalid").inc(len(listed) if isinstance(listed, list) else 1)
        raise


def job_owner(caller: Principal) -> str:
    """Who a job belongs to: the API key that started it, or "admin" for the admin token.

    The key rather than its client: two keys of one tenant are two callers, and a
    revoked key's jobs are nobody else's.
    """
    return "admin" if caller.key_id is None else f"key:{caller.key_id}"


def _json(model: BaseModel, status: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status, media_type="application/json")


@dataclass(frozen=True)
class Ingest:
    publisher: AlertPublisher
    jobs: JobManager
    rate: KeyRateLimit  # alerts per second per ingest key
    clock: Callable[[], float] = time.time

    async def post_alerts(self, request: Request, caller: Principal, body: bytes) -> Response:
        return await self._accept(caller, parse_alerts(body, int(self.clock())))

    async def post_prometheus_alerts(
        self, request: Request, caller: Principal, body: bytes
    ) -> Response:
        now = int(self.clock())
        return await self._accept(caller, parse_foreign(prometheus_alerts, body, caller, now))

    async def post_alertmanager_webhook(
        self, request: Request, caller: Principal, body: bytes
    ) -> Response:
        now = int(self.clock())
        return await self._accept(caller, parse_foreign(webhook_alerts, body, caller, now))

    async def _accept(self, caller: Principal, alerts: list[Alert]) -> Response:
        """Every alert route's 202: rate-limited, then answered only once Kafka acked."""
        # After parsing: a batch costs what it carries, and an invalid one costs nothing.
        self.rate.admit(caller, len(alerts))
        try:
            await self.publisher.publish(alerts, "api")
        except KafkaUnavailable:
            self.rate.refund(caller, len(alerts))  # not accepted: the retry must not pay twice
            detail = "Kafka is unavailable: the alerts were NOT accepted; retry"
            raise problems.unavailable(detail) from None
        return _json(AlertIds(alert_ids=[a.alert_id for a in alerts]), 202)

    async def create_job(self, request: Request, caller: Principal, body: bytes) -> Response:
        spec = _validated(JobRequest, _json_body(body))
        bound_error = spec.bound_error()
        if bound_error is not None:
            raise problems.invalid("count", bound_error)
        try:
            job = self.jobs.start(spec, job_owner(caller))
        except TooManyJobs as exc:
            detail = f"{exc}; cancel one or wait"
            raise ApiError(429, detail, headers={"Retry-After": "5"}) from None
        return _json(JobCreated(job_id=job.job_id), 202)

    async def list_jobs(self, request: Request, caller: Principal, body: bytes) -> Response:
        return _json(JobList(items=[job.status() for job in self.jobs.of(job_owner(caller))]))

    async def get_job(self, request: Request, caller: Principal, body: bytes) -> Response:
        job = self.jobs.get(request.path_params["job_id"], job_owner(caller))
        return _json(_found(job).status())

    async def cancel_job(self, request: Request, caller: Principal, body: bytes) -> Response:
        job = _found(await self.jobs.cancel(request.path_params["job_id"], job_owner(caller)))
        return _json(job.status(), 202)


def _json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc}", kind="bad-json") from None
    except RecursionError:
        # read_body refused deep bodies already; this is for text its byte scan cannot
        # read (json.loads also takes UTF-16 and UTF-32), never a 500.
        raise too_deep() from None


def _found(job: Job | None) -> Job:
    if job is None:
        raise problems.not_found("load-generator job")
    return job


def _openapi_handler() -> RequestHandler:
    """/openapi.json answers callers with a token (admin or ingest key), like the rest;
    built once."""
    body = json.dumps(openapi.build(API_VERSION)).encode()

    async def get_openapi(request: Request, caller: Principal, raw: bytes) -> Response:
        return Response(body, media_type="application/json")

    return get_openapi


def create_app(
    ingest: Ingest,
    auth: Authenticator,
    checks: Mapping[str, ReadinessCheck],
    cors_origins: Sequence[str] = (),
) -> Starlette:
    wrapper = web.endpoints(auth)
    admin = LOADGEN_REQUIRES
    routes: list[BaseRoute] = [
        wrapper.route("POST", ALERTS, ingest.post_alerts, max_body=MAX_ALERTS_BODY_BYTES),
        wrapper.route(
            "POST", PROMETHEUS_ALERTS, ingest.post_prometheus_alerts, max_body=MAX_ALERTS_BODY_BYTES
        ),
        wrapper.route(
            "POST",
            ALERTMANAGER_WEBHOOK,
            ingest.post_alertmanager_webhook,
            max_body=MAX_ALERTS_BODY_BYTES,
        ),
        wrapper.route("POST", JOBS, ingest.create_job, requires=admin, max_body=MAX_BODY_BYTES),
        wrapper.route("GET", JOBS, ingest.list_jobs, requires=admin),
        wrapper.route("GET", JOBS + "/{job_id}", ingest.get_job, requires=admin),
        wrapper.route("DELETE", JOBS + "/{job_id}", ingest.cancel_job, requires=admin),
        wrapper.route("GET", OPENAPI, _openapi_handler()),
        *health_routes(checks),
    ]
    return problem_app(routes, cors_origins)
