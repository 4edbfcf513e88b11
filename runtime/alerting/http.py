"""HTTP serving inside a service's own event loop.

uvicorn's ``Server.serve`` installs its own SIGINT/SIGTERM handlers and re-raises the
signal after shutdown, which would fight the runner's handlers; ``EmbeddedServer``
leaves signals to the runner and stops when told.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Generator, Mapping

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[None]]


class EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve(app: ASGIApp, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve ``app`` until ``stop`` is set."""
    # proxy_headers off: uvicorn would otherwise take X-Forwarded-For from loopback
    # peers as the client address. Whose forwarded addresses to trust is one setting,
    # ALERTING_TRUSTED_PROXY_HOPS, applied by the web layer (alerting.web.auth_guard).
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        proxy_headers=False,
    )
    server = EmbeddedServer(config)
    task = asyncio.create_task(server.serve())
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        stopper.cancel()
        task.result()  # a bind failure surfaces here
        if not server.started:
            raise RuntimeError(f"HTTP server on {host}:{port} did not start")
        return
    server.should_exit = True
    await task


def health_routes(
    checks: Mapping[str, ReadinessCheck],
    registry: CollectorRegistry = REGISTRY,
    timeout_s: float = 2.0,
) -> list[BaseRoute]:
    """/healthz (the process answers), /readyz (each dependency answers), /metrics.

    /readyz answers 200 ``{"status": "ready"}`` or 503 ``{"status": "not ready"}`` and
    nothing more; which check failed and why is logged when that changes.
    """

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    # The per-check outcome names hosts, ports and driver errors: useful to an operator,
    # a map for an attacker. /readyz is unauthenticated (probes carry no token), so it
    # answers the verdict only and the details go to the log, once per change of the
    # set of failing checks rather than once per probe.
    failing_before: frozenset[str] | None = None

    async def readyz(_: Request) -> Response:
        nonlocal failing_before
        problems: dict[str, str] = {}
        for name, check in checks.items():
            started = time.perf_counter()
            try:
                await asyncio.wait_for(check(), timeout_s)
            except Exception as exc:  # a readiness probe reports, it never raises
                problems[name] = f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__
                if time.perf_counter() - started > timeout_s:
                    problems[name] += " (slow)"
        failing = frozenset(problems)
        if failing != failing_before:
            _log_readiness(problems, first=failing_before is None)
            failing_before = failing
        if problems:
            return JSONResponse({"status": "not ready"}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


def _log_readiness(problems: Mapping[str, str], first: bool) -> None:
    if problems:
        details = "; ".join(f"{name}: {error}" for name, error in sorted(problems.items()))
        log.warning("not ready: %s", details)
    elif not first:  # "ready" at the first probe is the expected start, not news
        log.info("ready again: every check passes")


def health_app(checks: Mapping[str, ReadinessCheck]) -> Starlette:
    return Starlette(routes=health_routes(checks))
