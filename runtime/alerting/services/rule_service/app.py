"""The Starlette application: declared operations, /openapi.json, health and metrics."""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import BaseRoute

from alerting.console import site as console
from alerting.http import ReadinessCheck, health_routes
from alerting.services.rule_service import openapi
from alerting.services.rule_service.api import (
    audit,
    clients,
    endpoint_secrets,
    endpoint_trials,
    endpoints,
    groups,
    keys,
    match,
    notifications,
    silences,
    whoami,
)
from alerting.services.rule_service.api import rules as rules_api
from alerting.services.rule_service.operation import Ctx, Deps, Operation, routes
from alerting.web.app import problem_app

OPERATIONS: tuple[Operation, ...] = (
    *clients.OPERATIONS,
    *rules_api.OPERATIONS,
    *match.OPERATIONS,
    *silences.OPERATIONS,
    *endpoints.OPERATIONS,
    *endpoint_secrets.OPERATIONS,
    *endpoint_trials.OPERATIONS,
    *notifications.OPERATIONS,
    *groups.OPERATIONS,
    *keys.OPERATIONS,
    *audit.OPERATIONS,
    *whoami.OPERATIONS,
)
API_VERSION = "1.0.0"


def openapi_document() -> dict[str, object]:
    return openapi.build(OPERATIONS, title="alerting rule-service", version=API_VERSION)


def _openapi_operation() -> Operation:
    """/openapi.json answers callers with a token, like every other operation."""
    body = json.dumps(openapi_document()).encode()

    async def get_openapi(_: Ctx) -> Response:
        return Response(body, media_type="application/json")

    return Operation("GET", "/openapi.json", get_openapi, "The OpenAPI document", "meta")


def create_app(deps: Deps, checks: Mapping[str, ReadinessCheck]) -> Starlette:
    app_routes: list[BaseRoute] = [*routes((*OPERATIONS, _openapi_operation()), deps)]
    app_routes += health_routes(checks)
    s = deps.settings
    app_routes += console.routes(console.ConsoleConfig(s.console_ingest_url, s.console_metrics_url))
    return problem_app(app_routes)
