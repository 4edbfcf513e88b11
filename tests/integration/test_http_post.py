"""The sender's HTTP client against a real local server: connection reuse, bodies too big
to drain, redirects, timeouts, cookies, and the resolver that refuses private answers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from alerting.adapters.http_post import DRAIN_LIMIT_BYTES, HttpPoster
from alerting.domain.delivery import Outcome
from alerting.http import serve
from tests.integration.rule_service_support import wait_healthy
from tests.ports import free_port


@dataclass
class Receiver:
    url: str
    client_ports: list[int] = field(default_factory=list)
    cookies: list[str | None] = field(default_factory=list)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    port = free_port()
    seen = Receiver(f"http://127.0.0.1:{port}")

    async def record(request: Request) -> None:
        assert request.client is not None
        seen.client_ports.append(request.client.port)
        seen.cookies.append(request.headers.get("cookie"))
        await request.body()

    async def small(request: Request) -> Response:
        await record(request)
        return Response(b'{"ok":true}', headers={"set-cookie": "session=tenant-a"})

    async def trickle(request: Request) -> Response:
        await record(request)

        async def parts() -> AsyncIterator[bytes]:
            yield b'{"ok":'
            await asyncio.sleep(0.05)  # the rest arrives after the headers were read
            yield b"true}"

        return StreamingResponse(parts())

    async def big(request: Request) -> Response:
        await record(request)
        return Response(b"x" * (DRAIN_LIMIT_BYTES * 3))

    async def moved(request: Request) -> Response:
        await record(request)
        return RedirectResponse("http://169.254.169.254/latest/meta-data", status_code=302)

    async def slow(request: Request) -> Response:
        await record(request)
        await asyncio.sleep(3)
        return Response(b"late")

    async def busy(request: Request) -> Response:
        await record(request)
        return Response(b"", status_code=429, headers={"retry-after": "7"})

    async def healthz(_: Request) -> Response:
        return Response(b"ok")

    handlers = (small, trickle, big, moved, slow, busy)
    routes = [Route(f"/{h.__name__}", h, methods=["POST"]) for h in handlers]
    app = Starlette(routes=[*routes, Route("/healthz", healthz)])
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, "127.0.0.1", port, stop))
    await wait_healthy(seen.url, task)
    try:
        yield seen
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@contextlib.asynccontextmanager
async def opened(timeout_s: float = 5, allow_private: bool = True) -> AsyncIterator[HttpPoster]:
    poster = HttpPoster(concurrency=4, timeout_s=timeout_s, allow_private=allow_private)
    try:
        yield poster
    finally:
        await poster.close()


async def post_n(poster: HttpPoster, url: str, n: int) -> list[Outcome]:
    return [(await poster.post(url, b"{}", {}, now_s=0)).outcome for _ in range(n)]


async def test_short_answers_are_drained_so_one_connection_serves_every_request(
    receiver: Receiver,
) -> None:
    async with opened() as poster:
        assert await post_n(poster, f"{receiver.url}/small", 10) == [Outcome.SENT] * 10
        assert await post_n(poster, f"{receiver.url}/trickle", 5) == [Outcome.SENT] * 5
    assert len(receiver.client_ports) == 15
    assert len(set(receiver.client_ports)) == 1


async def test_the_answers_first_kb_is_kept_from_the_reads_that_drain_it(
    receiver: Receiver,
) -> None:
    """The excerpt is gathered across reads (trickle's body comes in two) and keeping it
    costs no connection: the drained ones are still reused."""
    async with opened() as poster:
        answers = [
            await poster.post(f"{receiver.url}/{path}", b"{}", {}, now_s=0)
            for path in ("small", "trickle", "small", "busy")
        ]
    assert [a.excerpt for a in answers] == ['{"ok":true}', '{"ok":true}', '{"ok":true}', None]
    assert len(set(receiver.client_ports)) == 1
    async with opened() as poster:
        big = await poster.post(f"{receiver.url}/big", b"{}", {}, now_s=0)
    assert big.excerpt == "x" * 1024  # no Content-Type: UTF-8 without NUL reads as text


async def test_an_answer_over_the_drain_limit_is_dropped_with_its_connection(
    receiver: Receiver,
) -> None:
    async with opened() as poster:
        assert await post_n(poster, f"{receiver.url}/big", 3) == [Outcome.SENT] * 3
    assert len(set(receiver.client_ports)) == 3


async def test_redirects_are_not_followed_and_cookies_are_not_kept(receiver: Receiver) -> None:
    # By name: cookie jars ignore cookies of bare IP addresses anyway.
    by_name = receiver.url.replace("127.0.0.1", "localhost")
    async with opened() as poster:
        moved = await poster.post(f"{by_name}/moved", b"{}", {}, now_s=0)
        await post_n(poster, f"{by_name}/small", 2)
    assert (moved.outcome, moved.response_code) == (Outcome.FAILED, 302)
    assert "redirects are not followed" in (moved.error or "")
    assert len(receiver.client_ports) == 3  # the metadata address was never asked
    assert receiver.cookies == [None, None, None]  # the first answer's Set-Cookie was dropped


async def test_timeouts_refusals_and_retry_after_are_transient(receiver: Receiver) -> None:
    async with opened(timeout_s=0.5) as poster:
        slow = await poster.post(f"{receiver.url}/slow", b"{}", {}, now_s=0)
        busy = await poster.post(f"{receiver.url}/busy", b"{}", {}, now_s=0)
        refused = await poster.post(f"http://127.0.0.1:{free_port()}/x", b"{}", {}, now_s=0)
    assert slow.outcome is Outcome.RETRY and "timeout" in (slow.error or "")
    assert (busy.outcome, busy.response_code, busy.retry_after_s) == (Outcome.RETRY, 429, 7)
    assert refused.outcome is Outcome.RETRY


async def test_a_host_resolving_to_a_private_address_is_refused_without_a_connection(
    receiver: Receiver,
) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    async with opened(allow_private=False) as poster:
        # "localhost" passes any syntax check; only its resolution to 127.0.0.1 is wrong.
        attempt = await poster.post(f"http://localhost:{port}/small", b"{}", {}, now_s=0)
    assert attempt.outcome is Outcome.FAILED
    assert "URL refused" in (attempt.error or "") and "non-public" in (attempt.error or "")
    assert receiver.client_ports == []
    async with opened() as allowed:
        assert await post_n(allowed, f"http://localhost:{port}/small", 1) == [Outcome.SENT]
