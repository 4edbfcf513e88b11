"""RFC 9457 problem details: every error the platform's HTTP APIs answer, and nothing else.

Handlers raise ``ApiError``; the endpoint wrapper turns it into an
``application/problem+json`` response. Unexpected exceptions become a bare 500 problem
with no detail: a stack trace is for the log, never for the client.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from alerting.domain.text import LABEL

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://alerting.dev/problems/"


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        errors: Sequence[tuple[str, str]] = (),
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind or HTTPStatus(status).phrase.lower().replace(" ", "-")
        self.errors = list(errors)
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, f"{field}: {message}", kind="validation-error", errors=[(field, message)])


def unauthorized(detail: str) -> ApiError:
    return ApiError(401, detail, headers={"WWW-Authenticate": 'Bearer realm="alerting"'})


def forbidden(detail: str) -> ApiError:
    return ApiError(403, detail)


def conflict(detail: str, **extra: Any) -> ApiError:
    return ApiError(409, detail, extra=extra)


def retry_after(seconds: float) -> int:
    """A wait as ``Retry-After`` says it: whole seconds, rounded up, at least 1."""
    return max(1, math.ceil(seconds))


def too_many_requests(
    detail: str,
    retry_after_s: float,
    *,
    kind: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ApiError:
    """The caller must slow down: ``Retry-After`` in whole seconds, at least 1."""
    headers = {"Retry-After": str(retry_after(retry_after_s))}
    return ApiError(429, detail, kind=kind, extra=extra, headers=headers)


def unavailable(detail: str) -> ApiError:
    """A dependency is down: the caller may retry the same request shortly."""
    return ApiError(503, detail, headers={"Retry-After": "1"})


def field_path(loc: Sequence[int | str]) -> str:
    """A pydantic location as a client writes it: ``alerts[3].severity``, and
    ``context.host[key]`` for a refused mapping key. A key is the caller's text: its
    control characters are written as escapes, so the field's name cannot forge lines
    in whatever shows the error."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]":
            path += part
        elif part != "__root__":
            shown = LABEL.neutralised(part)
            path += f".{shown}" if path else shown
    return path


def from_validation(exc: ValidationError, where: str) -> ApiError:
    """A pydantic error as a 422 (or 400 for a body that is not JSON at all)."""
    errors: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False, include_input=False):
        if err["type"] == "json_invalid":
            return ApiError(400, f"request body is not valid JSON: {err['msg']}", kind="bad-json")
        field = field_path(err["loc"]) or where
        errors.append((field, err["msg"]))
    summary = "; ".join(f"{f}: {m}" for f, m in errors[:5])
    return ApiError(422, summary or "invalid request", kind="validation-error", errors=errors)


def render(error: ApiError) -> Response:
    body: dict[str, Any] = {
        "type": TYPE_BASE + error.kind,
        "title": HTTPStatus(error.status).phrase,
        "status": error.status,
        "detail": error.detail,
    }
    if error.errors:
        body["errors"] = [{"field": f, "message": m} for f, m in error.errors]
    body.update(error.extra)
    return Response(
        json.dumps(body), status_code=error.status, media_type=PROBLEM_JSON, headers=error.headers
    )


def internal_error() -> Response:
    return render(ApiError(500, "internal error; see the service log", kind="internal-error"))


async def route_error(_: Request, exc: Exception) -> Response:
    """Unknown paths (404) and methods (405) answer problem+json like everything else."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
    detail = "no such route" if status == 404 else "method not allowed on this route"
    return render(ApiError(status, detail, headers=headers))
