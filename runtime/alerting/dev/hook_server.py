"""The webhook sink's HTTP/1.1 server: hooks answered straight from the parser, the
rest of the sink (viewing, clearing, scripting) handed to its Starlette routes.

In the benchmarks the sink receives every webhook of both sides of the comparison
(the platform and Alertmanager) on the same two cores as they run: under uvicorn, a
hook cost the sink about a third of what the sender spent sending it. Here a hook with
no scripted delay is parsed, recorded and answered within one ``data_received``: no
task, no ASGI messages. Requests on one connection are answered in order: once one
needs to wait (a scripted delay, a Starlette route), the ones after it queue behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import unquote

import httptools
from starlette.types import ASGIApp, Message

from alerting.dev.sinks import ANSWER, Recorder, hook_name, record_hook, routes_of

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024 * 1024  # a development sink: generous, but never unbounded


def _status_line(status: int) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    return f"HTTP/1.1 {status} {reason}\r\n".encode()


def _answer(status: int, keep_alive: bool) -> bytes:
    return (
        _status_line(status)
        + b"content-type: application/json\r\ncontent-length: "
        + str(len(ANSWER)).encode()
        + (b"\r\n\r\n" if keep_alive else b"\r\nconnection: close\r\n\r\n")
        + ANSWER
    )


_ANSWERS = {status: _answer(status, True) for status in (200, 201, 202, 204, 500, 503)}


class _Request:
    __slots__ = ("body", "headers", "keep_alive", "method", "url")

    def __init__(self) -> None:
        self.method = ""
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.keep_alive = True


class HookProtocol(asyncio.Protocol):
    def __init__(self, recorder: Recorder, routes: ASGIApp, open_: set[HookProtocol]) -> None:
        self._recorder = recorder
        self._open = open_  # the server's connections, closed when it stops
        self._routes = routes
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._request = _Request()
        self._size = 0
        self._queued: deque[_Request] = deque()
        self._worker: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self._open.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._open.discard(self)
        if self._worker is not None:
            self._worker.cancel()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:  # a callback's exception arrives wrapped
            if self._size > MAX_BODY:
                self._fail(413, f"body over {MAX_BODY} bytes")
            else:
                self._fail(400, f"bad request: {exc}")

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._request = _Request()
        self._size = 0

    def on_url(self, url: bytes) -> None:
        self._request.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._request.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        if (b"expect", b"100-continue") in self._request.headers and self._transport:
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > MAX_BODY:
            raise _TooLarge
        self._request.body.append(body)

    def on_message_complete(self) -> None:
        request = self._request
        request.method = self._parser.get_method().decode("latin-1")
        request.keep_alive = self._parser.should_keep_alive()
        if self._worker is None and self._answer_now(request):
            return
        self._queued.append(request)
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._work())

    def _answer_now(self, request: _Request) -> bool:
        """Record and answer a hook with no scripted delay; False for anything that
        must wait (it is queued, in order)."""
        name = hook_name(request.method, _path(request.url))
        if name is None or self._recorder.scripts.get(name):
            return False
        status, _ = record_hook(
            self._recorder, name, request.method, _path(request.url), request.headers,
            b"".join(request.body),
        )  # fmt: skip
        self._write(_ANSWERS.get(status) or _answer(status, True), request.keep_alive)
        return True

    async def _work(self) -> None:
        try:
            while self._queued:
                await self._handle(self._queued.popleft())
        except Exception:  # a bug: this connection's requests are dropped, not the sink
            log.exception("webhook sink: request failed")
            if self._transport is not None:
                self._transport.close()
        finally:
            self._worker = None

    async def _handle(self, request: _Request) -> None:
        path = _path(request.url)
        name = hook_name(request.method, path)
        body = b"".join(request.body)
        if name is not None:
            status, delay_s = record_hook(
                self._recorder, name, request.method, path, request.headers, body
            )
            if delay_s:  # recorded first: a test sees it arrive, then kills its sender
                await asyncio.sleep(delay_s)
            self._write(_answer(status, True), request.keep_alive)
            return
        self._write(await self._route(request, path, body), request.keep_alive)

    async def _route(self, request: _Request, path: str, body: bytes) -> bytes:
        """The response of the Starlette routes to ``request``, whole."""
        raw_path, _, query = request.url.partition(b"?")
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": "http",
            "path": path,
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": request.headers,
            "client": self._peer(),
            "server": None,
        }
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self._routes(scope, receive, send)
        content = b"".join(chunks)
        head = [_status_line(start.get("status", 500))]
        for k, v in start.get("headers", []):
            if k.lower() not in (b"content-length", b"connection"):
                head.append(k + b": " + v + b"\r\n")
        head.append(b"content-length: " + str(len(content)).encode() + b"\r\n")
        return b"".join(head) + b"\r\n" + content

    def _write(self, response: bytes, keep_alive: bool) -> None:
        transport = self._transport
        if transport is None:
            return
        if keep_alive:
            transport.write(response)
            return
        head, sep, content = response.partition(b"\r\n\r\n")
        transport.write(head + b"\r\nconnection: close" + sep + content)
        transport.close()

    def _fail(self, status: int, why: str) -> None:
        if self._transport is not None:
            body = why.encode()
            self._transport.write(
                _status_line(status)
                + b"content-type: text/plain\r\nconnection: close\r\ncontent-length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
            self._transport.close()

    def _peer(self) -> tuple[str, int] | None:
        peer = self._transport.get_extra_info("peername") if self._transport else None
        return (peer[0], peer[1]) if isinstance(peer, tuple) else None


class _TooLarge(Exception):
    pass


def _path(url: bytes) -> str:
    return unquote(url.partition(b"?")[0].decode("latin-1"))


async def serve_hooks(recorder: Recorder, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve the webhook sink until ``stop`` is set."""
    routes = routes_of(recorder)
    connections: set[HookProtocol] = set()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: HookProtocol(recorder, routes, connections), host, port
    )
    try:
        await stop.wait()
    finally:
        server.close()
        for connection in list(connections):  # keep-alive clients would hold it open
            connection.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()
