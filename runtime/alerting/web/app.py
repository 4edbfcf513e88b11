"""The Starlette application every HTTP API is built on: what holds for all its answers.

- Routing errors, unknown paths (404) and methods (405), answer problem+json like the
  endpoints do; so does an exception that escaped everything else (500, no detail).
- Every response, whoever wrote it (an endpoint, a health route, a routing error, the
  500 fallback), says ``X-Content-Type-Options: nosniff``, so a browser never sniffs
  HTML or script out of a JSON body that echoes text a caller chose. It is added in one
  place, an ASGI middleware around the whole app, not per handler.
- No path is redirected. Starlette's ``redirect_slashes`` answered ``/api/v1/rules/``
  with a 307 to ``http://<Host>/api/v1/rules``, an absolute URL built from the request's
  ``Host`` header: whoever controls that header (a misrouting proxy, a poisoned cache)
  chooses where clients are sent, bearer token and body in tow for a 307. The API has
  one spelling per route, so another spelling answers the same 404 problem as any
  unknown path; a relative redirect would avoid the Host but still teach clients to
  rely on a second spelling and re-send bodies to it.
- Cross-origin calls are refused unless an API is given origins (``cors_origins``): the
  web console served by rule-service on another port, as under ``make dev``. Bearer tokens
  authenticate, never cookies, so no credentials mode is allowed.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alerting.web.problems import internal_error, route_error

# Raw ASGI headers (lower-case bytes), appended to every response start.
EVERY_RESPONSE: tuple[tuple[bytes, bytes], ...] = ((b"x-content-type-options", b"nosniff"),)


class ResponseHeaders:
    """Pure ASGI middleware adding fixed headers to every HTTP response.

    Pure ASGI rather than ``BaseHTTPMiddleware``: it touches one message per response
    and nothing else, which keeps ingest's alert path as cheap as before.
    """

    def __init__(self, app: ASGIApp, headers: Sequence[tuple[bytes, bytes]]) -> None:
        self._app = app
        self._headers = list(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        extra = self._headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A new list: the response may reuse its own header list.
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self._app(scope, receive, send_with_headers)


class ApiApp(Starlette):
    """Starlette with ``ResponseHeaders`` outside every other layer.

    Starlette's ``middleware=`` list sits inside its ``ServerErrorMiddleware``, so the
    500 that middleware answers would go out without the headers; wrapping the built
    stack covers it too.
    """

    def build_middleware_stack(self) -> ASGIApp:
        return ResponseHeaders(super().build_middleware_stack(), EVERY_RESPONSE)


async def unexpected_error(_: Request, __: Exception) -> Response:
    """The last resort (the endpoint wrapper normally answers first): a bare 500
    problem; Starlette re-raises the exception afterwards, so the log has the trace."""
    return internal_error()


def problem_app(routes: Sequence[BaseRoute], cors_origins: Sequence[str] = ()) -> Starlette:
    """An API's app: problem+json for every error, nosniff everywhere, no redirects, and
    cross-origin calls from ``cors_origins`` only."""
    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=["authorization", "content-type"],
            expose_headers=["retry-after"],
            max_age=600,
        )
    ]
    app = ApiApp(
        routes=list(routes),
        middleware=middleware if cors_origins else [],
        exception_handlers={HTTPException: route_error, Exception: unexpected_error},
    )
    app.router.redirect_slashes = False
    return app
