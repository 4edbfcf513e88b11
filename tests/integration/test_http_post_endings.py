"""How the sender's HTTP client ends a request, against raw local sockets: a 2xx is SENT
however its body ends, and a request given up on never reaches the receiver afterwards
(either would make the retry a second delivery)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import pytest

from alerting.adapters.http_post import HttpPoster
from alerting.domain.delivery import Outcome

Answer = Callable[[asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request, head and Content-Length body, as the receiver read it."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head + await reader.readexactly(length)


@contextlib.asynccontextmanager
async def answering(answer: Answer) -> AsyncIterator[str]:
    """A server that reads one request per connection and answers with ``answer``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await answer(writer)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        server.close()


async def body_cut_short(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part of it")
    await writer.drain()


async def body_never_finished(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nstill ")
    await writer.drain()
    await asyncio.sleep(3)  # the body stops coming: longer than the poster's timeout


@pytest.mark.parametrize("answer", [body_cut_short, body_never_finished])
async def test_a_2xx_is_sent_however_its_body_ends(answer: Answer) -> None:
    poster = HttpPoster(concurrency=2, timeout_s=0.5, allow_private=True)
    try:
        async with answering(answer) as url:
            attempt = await poster.post(url, b"{}", {}, now_s=0)
    finally:
        await poster.close()
    assert (attempt.outcome, attempt.response_code, attempt.error) == (Outcome.SENT, 200, None)


@dataclass
class StalledReceiver:
    """Accepts one connection with a tiny receive window and reads nothing until
    ``read_now`` is set: the request waits, partly unsent, in the sender's kernel."""

    url: str
    read_now: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    received: bytearray = field(default_factory=bytearray)


@pytest.fixture
def stalled_receiver() -> Iterator[StalledReceiver]:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)  # inherited on accept
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(10)
    receiver = StalledReceiver(f"http://127.0.0.1:{listener.getsockname()[1]}/hook")

    def serve() -> None:
        try:
            with contextlib.suppress(OSError), listener.accept()[0] as conn:
                receiver.read_now.wait(10)
                conn.settimeout(5)
                while chunk := conn.recv(65536):  # to the sender's FIN, or its reset
                    receiver.received += chunk
        finally:
            receiver.finished.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.read_now.set()
        thread.join(10)
        listener.close()


async def test_a_request_given_up_on_does_not_reach_the_receiver_later(
    stalled_receiver: StalledReceiver,
) -> None:
    body = b"x" * 16_000  # far beyond the receiver's window, well within our kernel's
    poster = HttpPoster(concurrency=2, timeout_s=0.5, allow_private=True)
    try:
        attempt = await poster.post(stalled_receiver.url, body, {}, now_s=0)
        await asyncio.sleep(0.2)  # the connection is closed on the loop's next turn
    finally:
        await poster.close()
    assert attempt.outcome is Outcome.RETRY
    assert attempt.error == "timeout: no answer within 0.5 s"

    # The receiver starts reading only now, after the poster reported the timeout (and
    # the worker would have scheduled a retry): it must not get the whole request.
    stalled_receiver.read_now.set()
    assert await asyncio.to_thread(stalled_receiver.finished.wait, 10)
    got = len(stalled_receiver.received)
    assert 0 < got < len(body), f"the receiver got {got} bytes for a {len(body)}-byte body"
