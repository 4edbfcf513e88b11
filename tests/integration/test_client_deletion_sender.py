"""A real sender whose claimed notification is purged, with its client, while the
receiver is still answering (issue 13, item 4): it finishes cleanly, writes nothing
for the purged row and does not count it as a lost claim."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alerting.config import Settings
from alerting.http import serve
from alerting.services.rule_service.purger import ClientPurger
from alerting.services.rule_service.repo import clients as clients_repo
from tests.integration.rule_service_support import wait_healthy
from tests.integration.sender_support import (
    Sinks,
    add_endpoint,
    announce,
    insert_notification,
    running_sender,
    running_sinks,
    seed_rule,
)
from tests.pipeline_support import eventually
from tests.ports import free_port

pytestmark = pytest.mark.integration


class HeldReceiver:
    """A webhook receiver that answers 200 only once the test lets it."""

    def __init__(self) -> None:
        self.called = asyncio.Event()
        self.release = asyncio.Event()

    async def hook(self, request: Request) -> Response:
        await request.body()
        self.called.set()
        await self.release.wait()
        return Response(status_code=200)


@pytest.fixture
async def held() -> AsyncIterator[tuple[HeldReceiver, str]]:
    receiver = HeldReceiver()
    routes = [
        Route("/hook", receiver.hook, methods=["POST"]),
        Route("/healthz", lambda _: Response(status_code=200)),
    ]
    app = Starlette(routes=routes)
    port = free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, "127.0.0.1", port, stop))
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(url, task)
        yield receiver, f"{url}/hook"
    finally:
        receiver.release.set()
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def sinks() -> AsyncIterator[Sinks]:
    async with running_sinks() as running:
        yield running


async def test_a_claim_whose_client_is_deleted_and_purged_meanwhile_finishes_cleanly(
    base_env: dict[str, str],
    settings: Settings,
    sinks: Sinks,
    held: tuple[HeldReceiver, str],
    tmp_path: Path,
) -> None:
    receiver, url = held
    async with running_sender(base_env, settings, sinks, tmp_path) as sender:
        pool = sender.pool
        cid = f"gone-{uuid.uuid4().hex[:8]}"
        rule = await seed_rule(pool, cid)
        await add_endpoint(pool, rule, "webhook", url)
        nid = await insert_notification(pool, cid, [rule])
        await announce(sender.settings, nid, cid)
        await asyncio.wait_for(receiver.called.wait(), 30)  # claimed, receiver called

        async with pool.acquire() as conn:
            assert await clients_repo.delete(conn, cid)
        assert await ClientPurger(pool, 100).purge(cid) is True
        receiver.release.set()

        async def written() -> float:
            return await sender.metric("alerting_sender_notifications_total")

        await eventually(written, 30, "the sender writing the outcome")
        assert await sender.metric("alerting_sender_lost_claims_total") == 0
        left = await pool.fetchval(
            "SELECT (SELECT count(*) FROM notifications WHERE client_id = $1)"
            " + (SELECT count(*) FROM deliveries WHERE notification_id = $2::uuid)",
            cid,
            nid,
        )
        assert left == 0
        logs = sender.process.logs()
        assert "Traceback" not in logs and "ForeignKeyViolation" not in logs, logs
        assert sender.process.terminate() == 0, logs
