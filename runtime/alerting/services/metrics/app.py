"""The HTTP face of the metrics service: ``GET /api/v1/pipeline`` plus health routes.

Admin only, with the rule-service's authenticator and problem+json errors, so a
caller sees one auth behaviour across the platform.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from alerting.http import ReadinessCheck, health_routes
from alerting.services.metrics.sampler import Sampler
from alerting.services.rule_service import problems
from alerting.services.rule_service.auth import Authenticator, require_admin
from alerting.services.rule_service.problems import ApiError

log = logging.getLogger(__name__)


def create_app(
    sampler: Sampler, auth: Authenticator, checks: Mapping[str, ReadinessCheck]
) -> Starlette:
    async def pipeline(request: Request) -> Response:
        try:
            require_admin(await auth.authenticate(request.headers.get("authorization")))
            report = sampler.latest
            if report is None:
                retry = str(max(1, round(sampler.interval_s)))
                raise ApiError(503, "no sample taken yet", headers={"Retry-After": retry})
        except ApiError as exc:
            return problems.render(exc)
        except Exception:
            # An API key lookup needs Postgres; without it the caller cannot be told apart.
            log.exception("authenticating a pipeline request failed")
            return problems.render(ApiError(503, "cannot verify the token right now"))
        age = round(time.monotonic() - report.taken_at, 3)
        return JSONResponse({**report.body, "sample_age_s": age})

    routes = [Route("/api/v1/pipeline", pipeline, methods=["GET"]), *health_routes(checks)]
    return Starlette(routes=routes, exception_handlers={HTTPException: problems.route_error})
