"""The one request wrapper every API endpoint goes through.

It authenticates the caller, checks the scopes the endpoint requires, reads a bounded
body, maps every error to an ``application/problem+json`` answer and records the
service's request metrics. Handlers only see a request that got that far.

What differs between the APIs is configuration, not code: which exceptions mean "the
credentials could not be checked" (``unverifiable``), which unexpected exceptions have a
meaning for the caller (``problem_for``, e.g. Postgres errors), and which metrics count
the requests.

The wrapper is on ingest's hot path (every alert batch): the per-endpoint decisions
(scope refusals, the body limit) are made once when the route is built, and a request
allocates nothing the handler would not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alerting.web import problems
from alerting.web.auth import Authenticator, Principal, Scope, refusals
from alerting.web.body import read_body
from alerting.web.problems import ApiError
from alerting.web.request_metrics import RequestMetrics

log = logging.getLogger(__name__)

# A handler gets the request, the authenticated caller and the body (empty unless the
# endpoint reads one), and answers a response; errors it raises are the wrapper's.
RequestHandler = Callable[[Request, Principal, bytes], Awaitable[Response]]
AsgiEndpoint = Callable[[Request], Awaitable[Response]]
# An exception the wrapper caught -> the problem to answer, or None: not one to name.
ErrorMapping = Callable[[Exception], ApiError | None]
NO_BODY = b""


def unmapped(_: Exception) -> ApiError | None:
    return None


@dataclass(frozen=True)
class Endpoints:
    """One API's conventions, turning handlers into Starlette endpoints and routes."""

    authenticator: Authenticator
    # The scopes an endpoint requires unless it says otherwise; there is no default, so
    # an API cannot leave its endpoints open to every authenticated caller by omission.
    requires: Sequence[Scope]
    metrics: RequestMetrics | None = None
    # Exceptions raised while credentials were being checked (the key store is down,
    # say); unmapped ones are handled like any other exception (``problem_for``).
    unverifiable: ErrorMapping = unmapped
    # Any other exception a request raised; unmapped ones are a logged 500.
    problem_for: ErrorMapping = unmapped

    def endpoint(
        self,
        method: str,
        path: str,
        handler: RequestHandler,
        *,
        requires: Sequence[Scope] | None = None,
        max_body: int | None = None,
    ) -> AsgiEndpoint:
        """``handler`` behind the wrapper; ``max_body`` None means no body is read."""
        authenticate = self.authenticator.authenticate
        refused = refusals(self.requires if requires is None else requires)
        metrics, unverifiable, problem_for = self.metrics, self.unverifiable, self.problem_for

        async def handle(request: Request) -> Response:
            started = time.perf_counter()
            try:
                try:
                    principal = await authenticate(request)
                except ApiError:
                    raise
                except Exception as exc:
                    mapped = unverifiable(exc)
                    if mapped is None:
                        raise
                    raise mapped from exc
                refusal = refused[principal.kind]
                if refusal is not None:
                    raise problems.forbidden(refusal)
                body = NO_BODY if max_body is None else await read_body(request, max_body)
                response = await handler(request, principal, body)
            except ApiError as exc:
                response = problems.render(exc)
            except Exception as exc:  # the client gets a problem, the log gets the trace
                problem = problem_for(exc)
                if problem is None:
                    log.exception("%s %s failed", method, path)
                    response = problems.internal_error()
                else:
                    response = problems.render(problem)
            if metrics is not None:
                metrics.record(method, path, response.status_code, time.perf_counter() - started)
            return response

        handle.__name__ = handler.__name__
        return handle

    def route(
        self,
        method: str,
        path: str,
        handler: RequestHandler,
        *,
        requires: Sequence[Scope] | None = None,
        max_body: int | None = None,
    ) -> Route:
        endpoint = self.endpoint(method, path, handler, requires=requires, max_body=max_body)
        return Route(path, endpoint, methods=[method])
