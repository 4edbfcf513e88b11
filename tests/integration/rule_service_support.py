"""Fixtures and helpers for the rule-service tests: a real uvicorn server on a free port.

Import the fixtures into a test module with
``from tests.integration.rule_service_support import *``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from alerting import migrations
from alerting.adapters import redis as redis_adapter
from alerting.adapters.api_key_store import PostgresKeyStore
from alerting.adapters.dns import Resolver, system_resolver
from alerting.adapters.postgres import create_pool, readiness
from alerting.config import Settings
from alerting.http import serve
from alerting.services.rule_service.app import create_app
from alerting.services.rule_service.cursor import Cursors
from alerting.services.rule_service.liveness import Liveness
from alerting.services.rule_service.operation import Deps
from alerting.web.auth_guard import FailedAuthGuard
from alerting.web.bearer import bearer_authenticator
from tests.conftest import create_database, drop_database, server_base
from tests.pipeline_support import CLIENT_LIMITS
from tests.ports import free_port

__all__ = [
    "Api",
    "RunningService",
    "admin",
    "fresh_database",
    "new_client",
    "rs_pg",
    "rs_settings",
    "rule_pool",
    "service",
    "start_service",
]


@dataclass
class RunningService:
    base_url: str
    settings: Settings
    stop: asyncio.Event
    task: asyncio.Task[None]

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 10)


async def start_service(
    settings: Settings, pool: asyncpg.Pool[Any], resolver: Resolver = system_resolver
) -> RunningService:
    """The rule-service app (without the relay) served by uvicorn on a free port."""
    port = free_port()
    guard = FailedAuthGuard(settings.auth_throttle)
    auth = bearer_authenticator(settings.require_admin_token(), PostgresKeyStore(pool), guard)
    redis_client = redis_adapter.create_client(settings)
    liveness = Liveness(redis_client, redis_adapter.keys(settings))
    deps = Deps(pool, settings, auth, resolver, Cursors.for_settings(settings), liveness)
    app = create_app(deps, {"postgres": readiness(pool)})
    stop = asyncio.Event()

    async def serve_then_close() -> None:
        try:
            await serve(app, "127.0.0.1", port, stop)
        finally:
            await redis_client.aclose()

    task = asyncio.create_task(serve_then_close())
    base_url = f"http://127.0.0.1:{port}"
    await wait_healthy(base_url, task)
    return RunningService(base_url, settings, stop, task)


async def wait_healthy(base_url: str, task: asyncio.Task[None] | None = None) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=1) as client:
        for _ in range(200):
            if task is not None and task.done():
                task.result()  # a bind failure surfaces here
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"{base_url} did not become healthy")


@contextlib.asynccontextmanager
async def fresh_database(settings: Settings) -> AsyncIterator[Settings]:
    """``settings`` pointing at a new, migrated database, dropped afterwards.

    The rule-service tests create many clients and enabled rules and leave outbox rows
    unpublished; on the shared session database they would leak into other suites'
    snapshots and topics.
    """
    server = server_base(settings.postgres_dsn)
    name = f"alerting_rs_{uuid.uuid4().hex[:10]}"
    dsn = await asyncio.to_thread(create_database, server, name)
    try:
        await asyncio.to_thread(migrations.apply, dsn)
        yield dataclasses.replace(settings, postgres_dsn=dsn)
    finally:
        await asyncio.to_thread(drop_database, server, name)


@contextlib.asynccontextmanager
async def database_of_its_own(settings: Settings) -> AsyncIterator[asyncpg.Pool[Any]]:
    """A pool (the services' own kind) on a new migrated database, dropped afterwards."""
    async with fresh_database(settings) as own:
        pool = await create_pool(own)
        try:
            yield pool
        finally:
            await pool.close()


@pytest.fixture(scope="session")
async def rs_settings(settings: Settings) -> AsyncIterator[Settings]:
    """The settings of the rule-service tests: their own database (one per test module)."""
    async with fresh_database(settings) as own:
        yield own


@pytest.fixture(scope="session")
async def rule_pool(rs_settings: Settings) -> AsyncIterator[asyncpg.Pool[Any]]:
    pool = await create_pool(rs_settings)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def rs_pg(rs_settings: Settings) -> AsyncIterator[asyncpg.Connection[Any]]:
    conn = await asyncpg.connect(rs_settings.postgres_dsn)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def service(
    rs_settings: Settings, rule_pool: asyncpg.Pool[Any]
) -> AsyncIterator[RunningService]:
    running = await start_service(rs_settings, rule_pool)
    try:
        yield running
    finally:
        await running.close()


class Api:
    """An httpx client bound to one token."""

    def __init__(self, base_url: str, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=10, limits=CLIENT_LIMITS
        )
        self.token = token

    def as_token(self, token: str | None) -> Api:
        return Api(str(self.client.base_url), token)

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.request(method, path, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.post(path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.patch(path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.delete(path, **kwargs)

    async def ok(self, method: str, path: str, status: int, **kwargs: Any) -> Any:
        """Make a request, assert its status, return the JSON body (None for 204)."""
        response = await self.client.request(method, path, **kwargs)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        return None if status == 204 else response.json()


@pytest.fixture(scope="session")
def admin(service: RunningService) -> Api:
    return Api(service.base_url, service.settings.require_admin_token())


NewClient = Callable[..., Awaitable[tuple[str, Api]]]


@pytest.fixture
def new_client(admin: Api) -> NewClient:
    """Create a client and a client key; return (client_id, an Api using that key)."""

    async def make(prefix: str = "c") -> tuple[str, Api]:
        client_id = f"{prefix}-{uuid.uuid4().hex[:10]}"
        await admin.ok("POST", "/api/v1/clients", 201, json={"client_id": client_id, "name": "T"})
        key = await admin.ok("POST", f"/api/v1/clients/{client_id}/api-keys", 201, json={})
        return client_id, admin.as_token(key["token"])

    return make
