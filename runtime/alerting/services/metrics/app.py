"""The HTTP face of the metrics service: ``GET /api/v1/pipeline`` plus health routes.

Admin only, through the web layer's endpoint wrapper, so a caller sees one auth
behaviour across the platform.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from alerting.http import ReadinessCheck, health_routes
from alerting.services.metrics.sampler import Sampler
from alerting.web.app import problem_app
from alerting.web.auth import Authenticator, Principal, Scope
from alerting.web.endpoint import Endpoints
from alerting.web.problems import ApiError

log = logging.getLogger(__name__)


def cannot_verify(_: Exception) -> ApiError:
    """An API key lookup needs Postgres; without it the caller cannot be told apart."""
    log.exception("authenticating a pipeline request failed")
    return ApiError(503, "cannot verify the token right now")


def create_app(
    sampler: Sampler,
    auth: Authenticator,
    checks: Mapping[str, ReadinessCheck],
    cors_origins: Sequence[str] = (),
) -> Starlette:
    async def pipeline(request: Request, caller: Principal, body: bytes) -> Response:
        report = sampler.latest
        if report is None:
            retry = str(max(1, round(sampler.interval_s)))
            raise ApiError(503, "no sample taken yet", headers={"Retry-After": retry})
        age = round(time.monotonic() - report.taken_at, 3)
        return JSONResponse({**report.body, "sample_age_s": age})

    wrapper = Endpoints(auth, (Scope.ADMIN,), unverifiable=cannot_verify)
    route = wrapper.route("GET", "/api/v1/pipeline", pipeline)
    return problem_app([route, *health_routes(checks)], cors_origins)
