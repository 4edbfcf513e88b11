"""The one wrapper every ingest route goes through: auth, errors, request metrics.

Auth is rule-service's ``Authenticator`` (same tokens, same key table); only the scope
rule differs: here the admin token and ingest keys are welcome and a client key is 403,
since a tenant must not inject alerts that other tenants' rules would match.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import asyncpg
from prometheus_client import Counter, Histogram
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alerting.services.rule_service import problems
from alerting.services.rule_service.auth import Authenticator, Principal
from alerting.services.rule_service.problems import ApiError

log = logging.getLogger(__name__)

Handler = Callable[[Request, Principal], Awaitable[Response]]

REQUESTS = Counter(
    "alerting_ingest_requests_total", "ingest HTTP requests", ["method", "route", "status"]
)
LATENCY = Histogram(
    "alerting_ingest_request_seconds",
    "ingest HTTP request latency (alerts: until Kafka acknowledged them)",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
AUTH_STORE_DOWN = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


def unavailable(detail: str) -> ApiError:
    return ApiError(503, detail, headers={"Retry-After": "1"})


async def authorize(auth: Authenticator, request: Request) -> Principal:
    try:
        principal = await auth.authenticate(request.headers.get("authorization"))
    except AUTH_STORE_DOWN as exc:  # API keys live in Postgres; the admin token does not
        raise unavailable("cannot check API keys right now") from exc
    if principal.kind == "client":
        raise problems.forbidden("client keys cannot post alerts; use an ingest key")
    return principal


def route(method: str, path: str, handler: Handler, auth: Authenticator) -> Route:
    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        try:
            response = await handler(request, await authorize(auth, request))
        except ApiError as exc:
            response = problems.render(exc)
        except Exception:  # the client gets a problem, the log gets the trace
            log.exception("%s %s failed", method, path)
            response = problems.internal_error()
        REQUESTS.labels(method, path, str(response.status_code)).inc()
        LATENCY.labels(method, path).observe(time.perf_counter() - started)
        return response

    endpoint.__name__ = handler.__name__
    return Route(path, endpoint, methods=[method])
