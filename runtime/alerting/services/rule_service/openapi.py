"""The OpenAPI 3.1 document, generated from the declared operations and their models.

Schemas come from pydantic (JSON Schema 2020-12, which OpenAPI 3.1 uses as is), so the
document describes exactly what the handlers validate and return. Built once at start.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from alerting.services.rule_service.models.common import CLIENT_ID_PATTERN, Problem
from alerting.services.rule_service.operation import Operation
from alerting.web.openapi import document
from alerting.web.problems import PROBLEM_JSON

REF = "#/components/schemas/{model}"
Mode = Literal["validation", "serialization"]
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "client_id": {"type": "string", "pattern": CLIENT_ID_PATTERN},
    "rule_id": {"type": "string", "format": "uuid"},
    "endpoint_id": {"type": "string", "format": "uuid"},
    "notification_id": {"type": "string", "format": "uuid"},
    "key_id": {"type": "string", "format": "uuid"},
    "silence_id": {"type": "string", "format": "uuid"},
    "group_id": {"type": "string", "format": "uuid"},
    "digest_id": {"type": "string", "format": "uuid"},
}
DESCRIPTIONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Body is not JSON",
    401: "Missing, invalid or revoked token",
    403: "The token lacks the needed scope",
    404: "No such resource (or another tenant's)",
    409: "Conflict: duplicate, stale version, wrong state, or a quota reached"
    " (`quota`, `limit`, `count`)",
    413: "Body too large",
    415: "Body is not application/json",
    422: "Validation error; `errors` names the fields",
    429: "Too many failed authentications from this address or with this key; see Retry-After",
}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        # Optional parameters are simply absent; a JSON null cannot be sent in a query.
        variants = [v for v in prop.pop("anyOf", []) if v.get("type") != "null"]
        if variants:
            prop.update(variants[0])
        if prop.get("default") is None:
            prop.pop("default", None)
        description = prop.pop("description", None)
        prop.pop("title", None)
        param: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": prop,
        }
        if description:
            param["description"] = description
        params.append(param)
    return params


def _path_parameters(path: str) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    return [
        {"name": n, "in": "path", "required": True, "schema": PATH_PARAMETERS[n]} for n in names
    ]


NO_STORE_HEADER = {
    "Cache-Control": {
        "description": "the answer carries a secret: no cache may keep it",
        "schema": {"type": "string", "const": "no-store"},
    }
}


def build(operations: Iterable[Operation], *, title: str, version: str) -> dict[str, Any]:
    ops = list(operations)
    wanted: list[tuple[type[BaseModel], Mode]] = [(Problem, "serialization")]
    for op in ops:
        if op.body is not None:
            wanted.append((op.body, "validation"))
        if op.response is not None:
            wanted.append((op.response, "serialization"))
    refs, definitions = models_json_schema(list(dict.fromkeys(wanted)), ref_template=REF)
    problem_ref = refs[(Problem, "serialization")]

    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        responses: dict[str, Any] = {}
        if op.response is None:
            responses[str(op.status)] = {"description": DESCRIPTIONS[op.status]}
        else:
            responses[str(op.status)] = {
                "description": DESCRIPTIONS[op.status],
                "content": {"application/json": {"schema": refs[(op.response, "serialization")]}},
            }
        if op.carries_secret:
            responses[str(op.status)]["headers"] = NO_STORE_HEADER
        for status in op.error_statuses():
            responses[str(status)] = {
                "description": DESCRIPTIONS[status],
                "content": {PROBLEM_JSON: {"schema": problem_ref}},
            }
        spec: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": [op.tag],
            "responses": responses,
        }
        parameters = _path_parameters(op.path)
        if op.query is not None:
            parameters += _query_parameters(op.query)
        if parameters:
            spec["parameters"] = parameters
        if op.body is not None:
            spec["requestBody"] = {
                "required": not op.body_optional,
                "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
            }
        paths.setdefault(op.path, {})[op.method.lower()] = spec

    return document(
        title=title,
        version=version,
        description="Clients, rules, endpoints, silences, notifications, groups and API keys.",
        paths=paths,
        schemas=definitions.get("$defs", {}),
    )
