"""CORS on ingest and metrics: what lets the console, served by rule-service on another
origin (``make dev``, the browser tests), call them with its bearer token, and nothing more.

Real ``alerting ingest`` and ``alerting metrics`` processes, configured through
ALERTING_CORS_ORIGINS as an operator would, one pair with it set and one pair without.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import httpx
import pytest

from alerting.config import Settings
from tests.integration.ingest_support import ingest_env
from tests.processes import ServiceProcess

pytestmark = pytest.mark.integration
CONSOLE = "http://127.0.0.1:18081"
ALSO = "http://localhost:18081"
PATHS = {"ingest": "/api/v1/loadgen/jobs", "metrics": "/api/v1/pipeline"}


@dataclass
class Apis:
    allowing: dict[str, ServiceProcess]  # ALERTING_CORS_ORIGINS = the console's origins
    unset: dict[str, ServiceProcess]  # the setting left empty (one origin, the gateway)


@pytest.fixture(scope="module")
def stack() -> Iterator[ExitStack]:
    with ExitStack() as processes:
        yield processes


@pytest.fixture(scope="module")
async def apis(
    stack: ExitStack,
    base_env: dict[str, str],
    settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Apis]:
    env = await ingest_env(base_env, settings)  # a private alerts topic
    logs = tmp_path_factory.mktemp("cors")
    made: dict[str, dict[str, ServiceProcess]] = {"allowing": {}, "unset": {}}
    for which, origins in (("allowing", f"{CONSOLE}, {ALSO}/"), ("unset", "")):
        for name in PATHS:
            own = {**env, "ALERTING_CORS_ORIGINS": origins}
            made[which][name] = stack.enter_context(ServiceProcess(name, own, logs))
    everything = [p for group in made.values() for p in group.values()]
    await asyncio.gather(*(asyncio.to_thread(p.start) for p in everything))
    yield Apis(**made)


def preflight(origin: str, method: str = "GET") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    }


@pytest.mark.parametrize("name", list(PATHS))
@pytest.mark.parametrize("origin", [CONSOLE, ALSO])
async def test_a_preflight_from_the_console_is_allowed(apis: Apis, name: str, origin: str) -> None:
    api = apis.allowing[name]
    async with httpx.AsyncClient(base_url=api.url, timeout=10) as http:
        answer = await http.options(PATHS[name], headers=preflight(origin, "POST"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == origin
    allowed = {h.strip() for h in answer.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type"} <= {h.lower() for h in allowed}
    methods = {m.strip() for m in answer.headers["access-control-allow-methods"].split(",")}
    assert {"GET", "POST", "DELETE"} <= methods
    # Bearer tokens, not cookies: credentials mode is never needed, so never allowed.
    assert "access-control-allow-credentials" not in answer.headers
    assert answer.headers["vary"].lower().count("origin") == 1


@pytest.mark.parametrize("name", list(PATHS))
@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1:18082", "null"])
async def test_another_origin_gets_no_allow_headers(apis: Apis, name: str, origin: str) -> None:
    api = apis.allowing[name]
    async with httpx.AsyncClient(base_url=api.url, timeout=10) as http:
        answer = await http.options(PATHS[name], headers=preflight(origin))
        real = await http.get(PATHS[name], headers={"Origin": origin})
    assert answer.status_code == 400
    assert "access-control-allow-origin" not in answer.headers
    assert "access-control-allow-origin" not in real.headers


@pytest.mark.parametrize("name", list(PATHS))
async def test_unset_no_origin_is_allowed(apis: Apis, name: str) -> None:
    api = apis.unset[name]
    async with httpx.AsyncClient(base_url=api.url, timeout=10) as http:
        answer = await http.options(PATHS[name], headers=preflight(CONSOLE))
        real = await http.get(PATHS[name], headers={"Origin": CONSOLE})
    assert answer.status_code == 405  # no CORS layer at all: OPTIONS is just a method
    assert not [h for h in answer.headers if h.startswith("access-control-")]
    assert not [h for h in real.headers if h.startswith("access-control-")]


@pytest.mark.parametrize("name", list(PATHS))
async def test_a_real_request_from_the_console_carries_the_allow_origin(
    apis: Apis, settings: Settings, name: str
) -> None:
    api = apis.allowing[name]
    auth = {"Authorization": f"Bearer {settings.require_admin_token()}", "Origin": CONSOLE}
    async with httpx.AsyncClient(base_url=api.url, timeout=10) as http:
        answer = await http.get(PATHS[name], headers=auth)
        refused = await http.get(PATHS[name], headers={**auth, "Authorization": "Bearer nope"})
    # The pipeline may not have sampled yet (503, Retry-After): the console reads either.
    assert answer.status_code in (200, 503) if name == "metrics" else answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == CONSOLE
    if answer.status_code == 503:
        assert "retry-after" in answer.headers["access-control-expose-headers"].lower()
    # An error is readable by the console too (it shows the problem's title).
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == CONSOLE
    assert refused.headers["content-type"] == "application/problem+json"


async def test_the_console_can_start_a_load_job_cross_origin(
    apis: Apis, settings: Settings
) -> None:
    api = apis.allowing["ingest"]
    auth = {"Authorization": f"Bearer {settings.require_admin_token()}", "Origin": CONSOLE}
    async with httpx.AsyncClient(base_url=api.url, headers=auth, timeout=10) as http:
        started = await http.post(PATHS["ingest"], json={"rate": 10, "count": 1})
        assert started.status_code == 202, started.text
        assert started.headers["access-control-allow-origin"] == CONSOLE
        job = started.json()["job_id"]
        cancelled = await http.delete(f"{PATHS['ingest']}/{job}")
    assert cancelled.status_code in (200, 202, 204, 409), cancelled.text
    assert cancelled.headers["access-control-allow-origin"] == CONSOLE
