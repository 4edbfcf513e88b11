"""The envelope every API's OpenAPI 3.1 document shares: bearer auth on every operation,
problem+json errors. Each API generates its own paths and schemas from its models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def document(
    *,
    title: str,
    version: str,
    description: str,
    paths: Mapping[str, Any],
    schemas: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": f"{description} Errors are application/problem+json (RFC 9457).",
        },
        "paths": dict(paths),
        "components": {
            "schemas": dict(schemas),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
