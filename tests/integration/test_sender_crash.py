"""A sender SIGKILLed mid-delivery: its claim expires and a restarted sender takes it
over; the receiver sees the same Idempotency-Key again (at least once, never lost)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alerting.config import Settings
from alerting.http import serve
from tests.integration.rule_service_support import wait_healthy
from tests.integration.sender_support import (
    announce,
    insert_notification,
    notification,
    reaches,
    running_sender,
    running_sinks,
    webhook_rule,
)
from tests.pipeline_support import eventually
from tests.ports import free_port
from tests.processes import ServiceProcess

pytestmark = pytest.mark.integration


class HangingReceiver:
    """Answers nothing until released: the sender is caught in the middle of a request."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.released = asyncio.Event()
        self.url = ""

    async def hook(self, request: Request) -> Response:
        self.keys.append(request.headers["idempotency-key"])
        await self.released.wait()
        return Response(status_code=204)

    async def healthz(self, _: Request) -> Response:
        return Response("ok")


@pytest.fixture
async def receiver() -> AsyncIterator[HangingReceiver]:
    receiver = HangingReceiver()
    port = free_port()
    stop = asyncio.Event()
    app = Starlette(
        routes=[
            Route("/hook", receiver.hook, methods=["POST"]),
            Route("/healthz", receiver.healthz, methods=["GET"]),
        ]
    )
    task = asyncio.create_task(serve(app, "127.0.0.1", port, stop))
    receiver.url = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(receiver.url, task)
        yield receiver
    finally:
        receiver.released.set()
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_sigkill_mid_delivery_is_taken_over_after_the_lease(
    base_env: dict[str, str],
    settings: Settings,
    receiver: HangingReceiver,
    tmp_path: Path,
    unique: str,
) -> None:
    client_id = f"c-{unique}"
    async with (
        running_sinks() as sinks,
        running_sender(base_env, settings, sinks, tmp_path) as first,
    ):
        rule, _ = await webhook_rule(first.pool, client_id, f"{receiver.url}/hook")
        nid = await insert_notification(first.pool, client_id, [rule])
        await announce(first.settings, nid, client_id)

        async def in_flight() -> bool:
            return len(receiver.keys) == 1

        await eventually(in_flight, what="the first request")
        first.process.kill()  # SIGKILL while the request is open
        row = await notification(first.pool, nid)
        assert row["status"] == "SENDING" and row["attempts"] == 1
        receiver.released.set()

        with ServiceProcess("sender", first.process.env, tmp_path) as second:
            await asyncio.to_thread(second.start)
            row = await reaches(first.pool, nid, "SENT")
            assert row["attempts"] == 2
            assert receiver.keys == [nid, nid]
