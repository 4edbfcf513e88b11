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
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import unquote

import httptools
from starlette.types import ASGIApp, Message

from alerting.dev.sinks import (
    ANSWER,
    ANSWER_HEADERS,
    Recorder,
    hook_name,
    record_hook,
    routes_of,
)

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024 * 1024  # a development sink: generous, but never unbounded
IDLE_S = 5.0  # an idle kept-alive connection is closed after this long, as uvicorn did


def _status_line(status: int) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    return f"HTTP/1.1 {status} {reason}\r\n".encode()


def _response(status: int, headers: Iterable[tuple[bytes, bytes]], content: bytes) -> bytes:
    """A whole response; its length is ``content``'s (a ``content-length`` or
    ``connection`` among ``headers`` is dropped: ``_write`` says whether it closes)."""
    head = [_status_line(status)]
    for k, v in headers:
        if k.lower() not in (b"content-length", b"connection"):
            head.append(k + b": " + v + b"\r\n")
    head.append(b"content-length: " + str(len(content)).encode() + b"\r\n\r\n")
    return b"".join(head) + content


_ANSWERS = {s: _response(s, ANSWER_HEADERS, ANSWER) for s in (200, 201, 202, 204, 500, 503)}


def _answer(status: int) -> bytes:
    """A hook's answer (``ANSWER``) with ``status``."""
    return _ANSWERS.get(status) or _response(status, ANSWER_HEADERS, ANSWER)


class _Request:
    __slots__ = ("answer", "body", "headers", "keep_alive", "method", "url")

    def __init__(self) -> None:
        self.method = ""
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.keep_alive = True
        self.answer: tuple[int, float] | None = None  # a hook's, once recorded


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
        self._loop = asyncio.get_running_loop()
        self._active_at = self._loop.time()
        self._idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self._open.add(self)
        self._idle = self._loop.call_later(IDLE_S, self._close_if_idle)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._open.discard(self)
        if self._idle is not None:
            self._idle.cancel()
        if self._worker is not None:
            self._worker.cancel()

    def _close_if_idle(self) -> None:
        # One timer per connection, re-armed for what is left: not one per request.
        left = self._active_at + IDLE_S - self._loop.time()
        if left <= 0 and self._worker is None and self._transport is not None:
            self._transport.close()
        else:
            self._idle = self._loop.call_later(max(left, 0.1), self._close_if_idle)

    def stop(self) -> asyncio.Task[None] | None:
        """Close the connection; its answers still waiting (a scripted delay) are
        dropped. The task that was writing them, to be awaited."""
        worker = self._worker
        if worker is not None:
            worker.cancel()
        if self._transport is not None:
            self._transport.close()
        return worker

    def data_received(self, data: bytes) -> None:
        self._active_at = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(400, "protocol upgrades are not supported")
        except httptools.HttpParserError as exc:  # a callback's exception arrives wrapped
            if self._size > MAX_BODY:
                self._fail(413, f"body over {MAX_BODY} bytes")
            elif exc.__context__ is not None:  # a bug of the sink, not of the request
                log.error("webhook sink: request failed", exc_info=exc.__context__)
                self._fail(500, "the sink failed on this request")
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
        # Only when nothing is waiting before it: an interim answer ahead of an earlier
        # request's final one would break the order. The client sends its body anyway
        # once its wait for it runs out.
        expects = any(
            k == b"expect" and v.lower() == b"100-continue" for k, v in self._request.headers
        )
        if expects and self._worker is None and self._transport is not None:
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
            self._worker = self._loop.create_task(self._work())

    def _answer_now(self, request: _Request) -> bool:
        """A hook is recorded as it arrives (in arrival order across connections, as
        the tests and the bench read ``/received``) and answered at once unless its
        script holds the answer back; False for what must wait (queued, in order)."""
        name = hook_name(request.method, _path(request.url))
        if name is None:
            return False
        request.answer = self._record(request, name)
        status, delay_s = request.answer
        if delay_s:
            return False
        self._write(_answer(status), request.keep_alive)
        return True

    def _record(self, request: _Request, name: str) -> tuple[int, float]:
        return record_hook(
            self._recorder, name, request.method, _path(request.url), request.headers,
            b"".join(request.body),
        )  # fmt: skip

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
        if name is not None:
            status, delay_s = request.answer or self._record(request, name)
            if delay_s:  # recorded first: a test sees it arrive, then kills its sender
                await asyncio.sleep(delay_s)
            self._write(_answer(status), request.keep_alive)
            return
        response = await self._route(request, path, b"".join(request.body))
        self._write(response, request.keep_alive)
        self._active_at = self._loop.time()

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
        response = _response(start.get("status", 500), start.get("headers", []), content)
        return response[: len(response) - len(content)] if request.method == "HEAD" else response

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
        self._write(_response(status, [(b"content-type", b"text/plain")], why.encode()), False)

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
        workers = [c.stop() for c in list(connections)]  # keep-alive clients hold it open
        for worker in workers:
            if worker is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
        with contextlib.suppress(Exception):
            await server.wait_closed()
