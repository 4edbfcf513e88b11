"""One declared operation = one route, its required scopes, its docs and its metrics.

Each API module lists ``Operation``s; the app turns them into Starlette routes through
the web layer's endpoint wrapper (authentication, scopes, body, problems, metrics), and
the OpenAPI document is generated from the same declarations, so the two cannot
disagree.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alerting.adapters.dns import Resolver
from alerting.config import Settings
from alerting.services.rule_service.cursor import Cursors
from alerting.services.rule_service.liveness import Liveness
from alerting.services.rule_service.repo.quotas import QuotaExceeded
from alerting.web import problems
from alerting.web.auth import Authenticator, Principal, Scope
from alerting.web.body import MAX_BODY_BYTES
from alerting.web.database_errors import database_problem
from alerting.web.endpoint import Endpoints, RequestHandler
from alerting.web.request_metrics import RequestMetrics

M = TypeVar("M", bound=BaseModel)
METRICS = RequestMetrics.register("rule-service")
# An ingest key is refused everywhere here (it may only post alerts); a client key is
# confined to its own tenant by the handlers (``Principal.owner``).
TENANT = (Scope.TENANT,)
ADMIN_ONLY = (Scope.TENANT, Scope.ADMIN)


@dataclass(frozen=True)
class Deps:
    """What handlers need, built once at start."""

    pool: asyncpg.Pool[Any]
    settings: Settings
    auth: Authenticator
    resolver: Resolver
    cursors: Cursors  # issues and checks list cursors (``Cursors.for_settings``)
    liveness: Liveness  # whether a change is live in the evaluators (Redis)


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

    def optional_body(self, model: type[M]) -> M:
        """The body, or the model's defaults when the request has none (``body_optional``)."""
        return self.body(model) if self._raw.strip() else model()

    def query(self, model: type[M]) -> M:
        try:
            return model.model_validate(dict(self.request.query_params))
        except ValidationError as exc:
            raise problems.from_validation(exc, "query") from None


# What an operation's handler is: it returns a model (serialised with the operation's
# status), a ready response, or None (an empty answer).
OperationHandler = Callable[[Ctx], Awaitable[BaseModel | Response | None]]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    handler: OperationHandler
    summary: str
    tag: str
    response: type[BaseModel] | None = None
    status: int = 200
    body: type[BaseModel] | None = None
    body_optional: bool = False  # the handler reads it with ``Ctx.optional_body``
    query: type[BaseModel] | None = None
    admin_only: bool = False  # the admin token only; see ``requires``
    errors: tuple[int, ...] = ()
    # The answer carries a secret (a token, a signing secret, a URL that is a credential):
    # it says ``Cache-Control: no-store`` so no browser or proxy cache keeps a copy.
    carries_secret: bool = False

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    @property
    def requires(self) -> tuple[Scope, ...]:
        return ADMIN_ONLY if self.admin_only else TENANT

    def error_statuses(self) -> list[int]:
        # 429: every operation authenticates, and failed authentications are throttled.
        statuses = {401, 403, 429, *self.errors}
        if self.body is not None:
            statuses |= {400, 413, 415, 422}
        if self.query is not None:
            statuses.add(422)
        if "{" in self.path:
            statuses.add(404)
        return sorted(statuses)


def routes(operations: Iterable[Operation], deps: Deps) -> list[Route]:
    """The operations behind the web layer's wrapper, with rule-service's metrics; a
    quota reached and Postgres errors (also while an API key is looked up) are answered
    as what they mean."""
    wrapper = Endpoints(deps.auth, TENANT, metrics=METRICS, problem_for=_problem_for)
    return [
        wrapper.route(
            op.method,
            op.path,
            _request_handler(op, deps),
            requires=op.requires,
            max_body=None if op.body is None else MAX_BODY_BYTES,
        )
        for op in operations
    ]


def _problem_for(exc: Exception) -> problems.ApiError | None:
    if isinstance(exc, QuotaExceeded):
        return quota_exceeded(exc)
    return database_problem(exc)


def quota_exceeded(exc: QuotaExceeded) -> problems.ApiError:
    """409: the request is valid and allowed, but conflicts with the parent's current
    state (it already has the most children it may have); it succeeds once one is
    deleted (docs/quotas.md says why 409 rather than 403 or 422)."""
    extra = {"quota": exc.quota.name, "limit": exc.limit, "count": exc.count}
    return problems.ApiError(409, str(exc), kind="quota-exceeded", extra=extra)


NO_STORE = {"Cache-Control": "no-store"}


def _request_handler(op: Operation, deps: Deps) -> RequestHandler:
    extra_headers = NO_STORE if op.carries_secret else None

    async def handle(request: Request, principal: Principal, body: bytes) -> Response:
        response = _reply(await op.handler(Ctx(request, principal, deps, body)), op.status)
        if extra_headers is not None:
            response.headers.update(extra_headers)
        return response

    handle.__name__ = op.operation_id
    return handle


def _reply(result: BaseModel | Response | None, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status_code=status)
    return Response(result.model_dump_json(), status_code=status, media_type="application/json")
