"""The Starlette application: declared operations, /openapi.json, health and metrics."""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from alerting.http import ReadinessCheck, health_routes
from alerting.services.rule_service import openapi, problems
from alerting.services.rule_service.api import clients, endpoints, keys, match, notifications
from alerting.services.rule_service.api import rules as rules_api
from alerting.services.rule_service.operation import Ctx, Deps, Operation, endpoint

OPERATIONS: tuple[Operation, ...] = (
    *clients.OPERATIONS,
    *rules_api.OPERATIONS,
    *match.OPERATIONS,
    *endpoints.OPERATIONS,
    *notifications.OPERATIONS,
    *keys.OPERATIONS,
)
API_VERSION = "1.0.0"


def openapi_document() -> dict[str, object]:
    return openapi.build(OPERATIONS, title="alerting rule-service", version=API_VERSION)


def _openapi_route(deps: Deps) -> Route:
    body = json.dumps(openapi_document()).encode()

    async def get_openapi(_: Ctx) -> Response:
        return Response(body, media_type="application/json")

    op = Operation("GET", "/openapi.json", get_openapi, "The OpenAPI document", "meta")
    return Route(op.path, endpoint(op, deps), methods=["GET"])


def create_app(deps: Deps, checks: Mapping[str, ReadinessCheck]) -> Starlette:
    routes: list[BaseRoute] = [
        Route(op.path, endpoint(op, deps), methods=[op.method]) for op in OPERATIONS
    ]
    routes.append(_openapi_route(deps))
    routes += health_routes(checks)
    return Starlette(routes=routes, exception_handlers={HTTPException: problems.route_error})
