"""The webhook sink's own HTTP server (``alerting.dev.hook_server``) over real sockets:
hooks recorded and answered, the Starlette routes behind it, answers in request order
on a kept-alive connection, and bad input answered, never a crash."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from alerting.dev import hook_server
from alerting.dev.hook_server import serve_hooks
from alerting.dev.sinks import Recorder
from tests.ports import free_port

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def sink() -> AsyncIterator[tuple[Recorder, int]]:
    recorder, port, stop = Recorder(), free_port(), asyncio.Event()
    task = asyncio.create_task(serve_hooks(recorder, "127.0.0.1", port, stop))
    for _ in range(100):
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        await asyncio.sleep(0.05)
    try:
        yield recorder, port
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def exchange(port: int, raw: bytes, answers: int) -> list[bytes]:
    """Send ``raw`` on one connection; the first ``answers`` responses, whole."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    out = []
    try:
        for _ in range(answers):
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            out.append(head + await reader.readexactly(length))
    finally:
        writer.close()
    return out


async def test_hooks_are_recorded_and_the_routes_answer_behind_them() -> None:
    async with sink() as (recorder, port), httpx.AsyncClient() as http:
        url = f"http://127.0.0.1:{port}"
        first = await http.post(f"{url}/hooks/a?x=1", json={"n": 1}, headers={"X-Sig": "s"})
        digest = await http.put(f"{url}/hooks/a", json=[{"n": 2}, {"n": 3}])
        assert (first.status_code, digest.status_code) == (200, 200)
        assert first.json() == {"received": True}
        assert (await http.post(f"{url}/hooks/a/b", json={})).status_code == 404
        counts = (await http.get(f"{url}/counts")).json()
        assert counts == {"hooks": {"a": 2}, "members": {"a": 3}, "emails": 0}
        seen = (await http.get(f"{url}/received", params={"name": "a"})).json()["items"]
        assert [(r["path"], r["body"], r["members"]) for r in seen] == [
            ("/hooks/a", {"n": 1}, 1),
            ("/hooks/a", [{"n": 2}, {"n": 3}], 2),
        ]
        assert seen[0]["headers"]["x-sig"] == "s"
        assert (await http.delete(f"{url}/received")).status_code == 204
        assert len(recorder.requests) == 0


async def test_a_delayed_answer_keeps_the_order_of_the_connections_answers() -> None:
    async with sink() as (recorder, port), httpx.AsyncClient() as http:
        url = f"http://127.0.0.1:{port}"
        await http.put(f"{url}/script/slow", json={"statuses": [503], "delay_s": 0.3})
        pipelined = (
            b"POST /hooks/slow HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\n\r\n1"
            b"POST /hooks/fast HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\n\r\n2"
            b"GET /counts HTTP/1.1\r\nhost: x\r\n\r\n"
        )
        slow, fast, counts = await exchange(port, pipelined, 3)
    assert slow.startswith(b"HTTP/1.1 503 ") and fast.startswith(b"HTTP/1.1 200 ")
    assert counts.endswith(b'"hooks":{"slow":1,"fast":1},"members":{"slow":1,"fast":1},"emails":0}')
    assert [r["name"] for r in recorder.requests] == ["slow", "fast"]


async def test_bad_requests_are_answered_and_the_sink_keeps_serving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hook_server, "MAX_BODY", 10)
    async with sink() as (recorder, port):
        (garbage,) = await exchange(port, b"NOT HTTP\r\n\r\n", 1)
        big = b"POST /hooks/a HTTP/1.1\r\nhost: x\r\ncontent-length: 11\r\n\r\n" + b"x" * 11
        (too_large,) = await exchange(port, big, 1)
        closing = (
            b"POST /hooks/a HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}"
        )
        (closed,) = await exchange(port, closing, 1)
    assert garbage.startswith(b"HTTP/1.1 400 ")
    assert too_large.startswith(b"HTTP/1.1 413 ")
    assert closed.startswith(b"HTTP/1.1 200 ") and b"connection: close" in closed
    assert [r["name"] for r in recorder.requests] == ["a"]


async def test_a_scripted_hook_is_recorded_as_it_arrives_and_answered_late() -> None:
    async with sink() as (recorder, port), httpx.AsyncClient() as http:
        url = f"http://127.0.0.1:{port}"
        await http.put(f"{url}/script/slow", json={"statuses": [500], "delay_s": 0.5})
        slow = asyncio.create_task(http.post(f"{url}/hooks/slow", content=b"1"))
        while not recorder.requests:
            await asyncio.sleep(0.01)
        fast = await http.post(f"{url}/hooks/fast", content=b"2")
        assert not slow.done() and fast.status_code == 200
        assert (await slow).status_code == 500
    assert [r["name"] for r in recorder.requests] == ["slow", "fast"]  # arrival order


async def test_head_upgrade_and_expect_are_answered_as_http_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hook_server, "IDLE_S", 0.2)
    async with sink() as (recorder, port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"HEAD /counts HTTP/1.1\r\nhost: x\r\n\r\n")
        writer.write(b"GET /counts HTTP/1.1\r\nhost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        after = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)  # no body between
        writer.close()
        (upgrade,) = await exchange(
            port,
            b"GET /x HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n",
            1,
        )
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /hooks/e HTTP/1.1\r\nhost: x\r\nexpect: 100-Continue\r\n"
            b"content-length: 1\r\n\r\n"
        )
        assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5) == (
            b"HTTP/1.1 100 Continue\r\n\r\n"
        )
        writer.write(b"1")
        assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).startswith(
            b"HTTP/1.1 200 "
        )
        await asyncio.wait_for(reader.readexactly(17), 5)
        assert await asyncio.wait_for(reader.read(), 5) == b""  # idle: closed by the sink
        writer.close()
    assert head.startswith(b"HTTP/1.1 200 ") and after.startswith(b"HTTP/1.1 200 ")
    assert upgrade.startswith(b"HTTP/1.1 400 ")
    assert [r["name"] for r in recorder.requests] == ["e"]


async def test_a_failure_of_the_sink_itself_is_a_500_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object) -> tuple[int, float]:
        raise RuntimeError("recorder bug")

    monkeypatch.setattr(hook_server, "record_hook", broken)
    async with sink() as (_, port):
        (answer,) = await exchange(port, b"POST /hooks/a HTTP/1.1\r\nhost: x\r\n\r\n", 1)
        (healthy,) = await exchange(port, b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n", 1)
    assert answer.startswith(b"HTTP/1.1 500 ") and healthy.startswith(b"HTTP/1.1 200 ")
    assert "recorder bug" in caplog.text
