"""One declared operation = one route, its auth rule, its docs and its metrics.

Each API module lists ``Operation``s; the app turns them into Starlette routes and the
OpenAPI document is generated from the same declarations, so the two cannot disagree.
The wrapper here is the only place that authenticates, reads bodies, maps errors to
problem responses and records request metrics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from alerting.adapters.dns import Resolver
from alerting.config import Settings
from alerting.services.rule_service import problems
from alerting.services.rule_service.auth import Authenticator, Principal, require_admin
from alerting.services.rule_service.problems import ApiError

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
MAX_BODY_BYTES = 64 * 1024

REQUESTS = Counter(
    "alerting_rule_service_requests_total",
    "rule-service HTTP requests",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "alerting_rule_service_request_seconds",
    "rule-service HTTP request latency",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


@dataclass(frozen=True)
class Deps:
    """What handlers need, built once at start."""

    pool: asyncpg.Pool[Any]
    settings: Settings
    auth: Authenticator
    resolver: Resolver


class Ctx:
    """One request as a handler sees it: the caller, validated input, dependencies."""

    def __init__(self, request: Request, principal: Principal, deps: Deps, raw: bytes) -> None:
        self.request = request
        self.principal = principal
        self.deps = deps
        self._raw = raw

    @property
    def pool(self) -> asyncpg.Pool[Any]:
        return self.deps.pool

    def path(self, name: str) -> str:
        value: str = self.request.path_params[name]
        return value

    def path_id(self, name: str, what: str) -> UUID:
        """A uuid path parameter; anything else cannot name a resource (404)."""
        try:
            return UUID(self.path(name))
        except ValueError:
            raise problems.not_found(what) from None

    def body(self, model: type[M]) -> M:
        try:
            return model.model_validate_json(self._raw)
        except ValidationError as exc:
            raise problems.from_validation(exc, "body") from None

    def query(self, model: type[M]) -> M:
        try:
            return model.model_validate(dict(self.request.query_params))
        except ValidationError as exc:
            raise problems.from_validation(exc, "query") from None


Handler = Callable[[Ctx], Awaitable[BaseModel | Response | None]]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    response: type[BaseModel] | None = None
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    admin_only: bool = False
    errors: tuple[int, ...] = ()

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    def error_statuses(self) -> list[int]:
        statuses = {401, 403, *self.errors}
        if self.body is not None:
            statuses |= {400, 413, 415, 422}
        if self.query is not None:
            statuses.add(422)
        if "{" in self.path:
            statuses.add(404)
        return sorted(statuses)


async def read_body(request: Request, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refusing (413) more than ``max_bytes`` before reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
        raise ApiError(413, f"request body is larger than {max_bytes} bytes")
    content_type = request.headers.get("content-type", "application/json")
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise ApiError(415, "request body must be application/json")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, f"request body is larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _database_error(exc: Exception) -> ApiError | None:
    """Constraint and data errors the request caused; None for anything else."""
    if isinstance(exc, asyncpg.UniqueViolationError):
        return problems.conflict("a resource with these values already exists")
    if isinstance(exc, asyncpg.CheckViolationError | asyncpg.DataError):
        return ApiError(422, "the values break a constraint", kind="validation-error")
    if isinstance(exc, OSError | asyncpg.PostgresConnectionError | asyncpg.InterfaceError):
        return ApiError(503, "database unavailable", headers={"Retry-After": "1"})
    if isinstance(exc, asyncpg.TooManyConnectionsError | TimeoutError):
        return ApiError(503, "database busy", headers={"Retry-After": "1"})
    return None


def endpoint(op: Operation, deps: Deps) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        started = time.perf_counter()
        try:
            principal = await deps.auth.authenticate(request.headers.get("authorization"))
            if principal.kind == "ingest":
                raise problems.forbidden("ingest keys may only post alerts")
            if op.admin_only:
                require_admin(principal)
            raw = await read_body(request) if op.body is not None else b""
            result = await op.handler(Ctx(request, principal, deps, raw))
            response = _reply(result, op.status)
        except ApiError as exc:
            response = problems.render(exc)
        except Exception as exc:  # the client gets a problem, the log gets the trace
            mapped = _database_error(exc)
            if mapped is None:
                log.exception("%s %s failed", op.method, op.path)
                response = problems.internal_error()
            else:
                response = problems.render(mapped)
        REQUESTS.labels(op.method, op.path, str(response.status_code)).inc()
        LATENCY.labels(op.method, op.path).observe(time.perf_counter() - started)
        return response

    handle.__name__ = op.operation_id
    return handle


def _reply(result: BaseModel | Response | None, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status_code=status)
    return Response(result.model_dump_json(), status_code=status, media_type="application/json")
