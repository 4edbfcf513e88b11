"""The sender's own HTTP/1.1 client against raw local servers: how answers are framed
(chunked, Content-Length, to the connection's end), when a connection is reused, 1xx
answers, connections closed while idle, TLS, and requests that must not be resent."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvloop
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from alerting.adapters.http_connection import FRAMING_LIMIT_BYTES, HEAD_LIMIT_BYTES
from alerting.adapters.http_pool import ConnectionPool
from alerting.adapters.http_post import DNS_TTL_S, DRAIN_LIMIT_BYTES, CheckedResolver, HttpPoster
from alerting.adapters.http_request import Origin
from alerting.domain.delivery import Attempt, Outcome
from tests.integration.test_http_post_endings import read_request

pytestmark = pytest.mark.integration


@dataclass
class RawServer:
    """Answers every request with ``answer`` (bytes written as they are), counting
    connections and requests; ``close_after`` ends the connection after that many
    answers on it, as a server whose keep-alive ran out."""

    answer: bytes
    close_after: int | None = None
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    url: str = ""


@contextlib.asynccontextmanager
async def serving(
    server: RawServer, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1"
) -> AsyncIterator[RawServer]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        answered = 0
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while server.close_after is None or answered < server.close_after:
                server.requests.append(await read_request(reader))
                writer.write(server.answer)
                await writer.drain()
                answered += 1
        writer.close()

    listening = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    port = listening.sockets[0].getsockname()[1]
    server.url = f"{'https' if tls else 'http'}://{host}:{port}/hook/secret-token"
    try:
        yield server
    finally:
        listening.close()


async def post_n(server: RawServer, n: int, poster: HttpPoster | None = None) -> list[Attempt]:
    own = poster or HttpPoster(concurrency=4, timeout_s=2, allow_private=True)
    try:
        return [await own.post(server.url, b"{}", {}, now_s=0) for _ in range(n)]
    finally:
        if poster is None:
            await own.close()


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def test_a_chunked_answer_is_read_to_its_end_and_the_connection_reused() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    async with serving(RawServer(chunked)) as server:
        attempts = await post_n(server, 5)
    assert [a.excerpt for a in attempts] == ["abcde"] * 5
    assert (len(server.requests), server.connections) == (5, 1)


async def test_a_body_ended_by_the_connection_is_read_and_the_connection_not_reused() -> None:
    http10 = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nthanks"
    async with serving(RawServer(http10, close_after=1)) as server:
        attempts = await post_n(server, 3)
    assert [(a.outcome, a.excerpt) for a in attempts] == [(Outcome.SENT, "thanks")] * 3
    assert (len(server.requests), server.connections) == (3, 3)


async def test_connection_close_and_http10_without_keep_alive_are_not_reused() -> None:
    close = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    http10 = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"
    for answer in (close, http10):
        async with serving(RawServer(answer)) as server:
            assert [a.outcome for a in await post_n(server, 3)] == [Outcome.SENT] * 3
        assert server.connections == 3


async def test_informational_answers_are_skipped() -> None:
    early = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
    busy = early + b"HTTP/1.1 503 Busy\r\nRetry-After: 9\r\nContent-Length: 4\r\n\r\nbusy"
    async with serving(RawServer(busy)) as server:
        attempts = await post_n(server, 2)
    assert [(a.response_code, a.retry_after_s, a.excerpt) for a in attempts] == [
        (503, 9, "busy")
    ] * 2
    assert server.connections == 1


async def test_an_oversize_answer_keeps_its_excerpt_and_loses_its_connection() -> None:
    size = DRAIN_LIMIT_BYTES * 2
    big = b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n" % size + b"e" * size
    async with serving(RawServer(big)) as server:
        attempts = await post_n(server, 2)
    assert [(a.outcome, a.excerpt) for a in attempts] == [(Outcome.RETRY, "e" * 1024)] * 2
    assert server.connections == 2


async def test_huge_answer_headers_are_a_bad_answer_read_no_further() -> None:
    """httptools grows a header by concatenation: a receiver's endless header would
    hold the event loop. Past the limit the attempt is RETRY and the connection reset."""
    huge = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (4 * HEAD_LIMIT_BYTES)
    async with serving(RawServer(huge + b"\r\nContent-Length: 2\r\n\r\nok")) as server:
        attempts = await post_n(server, 2)
    assert [(a.outcome, a.error) for a in attempts] == [
        (Outcome.RETRY, "answer headers too large")
    ] * 2
    assert server.connections == 2


async def test_an_answer_trickled_one_byte_per_segment_is_read_whole() -> None:
    """A receiver writing its answer a byte at a time (one TCP segment each, no Nagle):
    the head is gathered until its blank line, then parsed; the connection is reused."""
    answer = (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Slow Down\r\nRetry-After: 7\r\n"
        b"Content-Type: text/plain\r\nContent-Length: 4\r\n\r\nslow"
    )
    connections = 0

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                await read_request(reader)
                for i in range(len(answer)):
                    writer.write(answer[i : i + 1])
                    await writer.drain()
                    await asyncio.sleep(0.0005)
        writer.close()

    listening = await asyncio.start_server(trickle, "127.0.0.1", 0)
    server = RawServer(b"", url=f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}/h")
    try:
        attempts = await post_n(server, 2)
    finally:
        listening.close()
    assert [(a.response_code, a.retry_after_s, a.excerpt) for a in attempts] == [
        (429, 7, "slow")
    ] * 2
    assert connections == 1


async def test_huge_trailers_cost_the_connection_not_the_answer() -> None:
    trailer = b"X-Big: " + b"a" * (4 * FRAMING_LIMIT_BYTES) + b"\r\n"
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n"
    async with serving(RawServer(chunked + trailer + b"\r\n")) as server:
        attempts = await post_n(server, 2)
    assert [(a.outcome, a.excerpt) for a in attempts] == [(Outcome.SENT, "ok")] * 2
    assert server.connections == 2


async def test_a_connection_answered_before_its_body_was_written_is_not_reused() -> None:
    """A receiver refusing a body it did not read (413, keep-alive): the body's unsent
    rest would be read as the start of the next request."""
    connections: list[asyncio.StreamWriter] = []

    async def refuse_early(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()  # and never reads the body

    listening = await asyncio.start_server(refuse_early, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}/hook"
    poster = HttpPoster(concurrency=2, timeout_s=1, allow_private=True)
    body = b"x" * (32 * 1024 * 1024)  # more than the kernel's socket buffers take
    try:
        attempts = [await poster.post(url, body, {}, now_s=0) for _ in range(2)]
    finally:
        await poster.close()
        for writer in connections:
            writer.close()
        listening.close()
    assert [a.response_code for a in attempts] == [413, 413]
    assert len(connections) == 2


async def test_a_connection_closed_while_idle_is_replaced_before_the_request_is_written() -> None:
    async with serving(RawServer(OK, close_after=1)) as server:
        poster = HttpPoster(concurrency=4, timeout_s=2, allow_private=True)
        try:
            for _ in range(3):
                assert (await post_n(server, 1, poster))[0].outcome is Outcome.SENT
                await asyncio.sleep(0.05)  # the server's FIN reaches the idle connection
        finally:
            await poster.close()
    assert (len(server.requests), server.connections) == (3, 3)


async def test_an_idle_connection_is_closed_after_the_idle_time_with_no_further_request() -> None:
    """A sender calls many origins once each: their idle sockets must not wait for a
    next request to be closed. One taken again before its time is not closed under it."""
    ended: list[float] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            await reader.read()  # until the client ends the connection
        ended.append(asyncio.get_running_loop().time())
        writer.close()

    listening = await asyncio.start_server(hold, "127.0.0.1", 0)
    origin = Origin("http", "127.0.0.1", listening.sockets[0].getsockname()[1])
    pool = ConnectionPool(2, CheckedResolver(allow_private=True), ssl.create_default_context(), 0.3)
    loop = asyncio.get_running_loop()
    try:
        connection = await pool.acquire(origin)
        pool.release(origin, connection, reusable=True)
        await asyncio.sleep(0.2)
        assert await pool.acquire(origin) is connection  # taken within its idle time
        await asyncio.sleep(0.2)  # past the first release's expiry
        assert connection.usable() and not ended
        pool.release(origin, connection, reusable=True)
        released_at = loop.time()
        for _ in range(40):
            if ended:
                break
            await asyncio.sleep(0.05)
    finally:
        await pool.close()
        listening.close()
    assert len(ended) == 1 and 0.25 <= ended[0] - released_at < 1.5


async def test_idle_connections_beyond_the_cap_are_closed_oldest_first() -> None:
    """Three origins called once each through a pool keeping two idle connections: the
    first one released is closed at once (its server sees it end), long before the idle
    time; the two newest stay open and are reused. A connection taken again leaves the
    oldest-first order with the pool: a later eviction takes an idle one, never it."""
    ended: list[int] = []

    def holder(port_index: int) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]:
        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                await reader.read()  # until the client ends the connection
            ended.append(port_index)
            writer.close()

        return hold

    servers = [await asyncio.start_server(holder(i), "127.0.0.1", 0) for i in range(3)]
    origins = [Origin("http", "127.0.0.1", s.sockets[0].getsockname()[1]) for s in servers]
    pool = ConnectionPool(
        4, CheckedResolver(allow_private=True), ssl.create_default_context(), 60, max_idle=2
    )
    try:
        connections = [await pool.acquire(o) for o in origins]
        for origin, connection in zip(origins, connections, strict=True):
            pool.release(origin, connection, reusable=True)
        for _ in range(40):
            if ended:
                break
            await asyncio.sleep(0.05)
        assert ended == [0] and not connections[0].usable()
        assert await pool.acquire(origins[1]) is connections[1]
        assert await pool.acquire(origins[2]) is connections[2]
        assert ended == [0]
        pool.release(origins[2], connections[2], reusable=True)
        fresh = await pool.acquire(origins[0])
        pool.release(origins[0], fresh, reusable=True)
        pool.release(origins[1], connections[1], reusable=True)  # the third idle one
        for _ in range(40):
            if len(ended) == 2:
                break
            await asyncio.sleep(0.05)
        assert ended == [0, 2]  # the oldest idle one, not the one taken in between
        assert connections[1].usable() and fresh.usable()
        idle = [c for kept in pool._idle.values() for c in kept]
        assert sorted(map(id, pool._idle_order)) == sorted(map(id, idle))
    finally:
        await pool.close()
        for server in servers:
            server.close()


async def test_closing_the_client_ends_a_request_in_flight() -> None:
    async with serving(RawServer(b"", close_after=None)) as silent:
        poster = HttpPoster(concurrency=2, timeout_s=5, allow_private=True)
        loop = asyncio.get_running_loop()
        posting = asyncio.create_task(poster.post(silent.url, b"{}", {}, now_s=0))
        while not silent.requests:
            await asyncio.sleep(0.01)
        closed_at = loop.time()
        await poster.close()
        attempt = await asyncio.wait_for(posting, 1)
    assert (attempt.outcome, attempt.error) == (
        Outcome.RETRY,
        "connection closed before an answer",
    )
    assert loop.time() - closed_at < 1


async def test_a_request_whose_connection_ends_unanswered_is_not_resent() -> None:
    """The server read it, so it may have acted on it: RETRY, and written once."""
    async with serving(RawServer(b"", close_after=1)) as server:
        attempts = await post_n(server, 1)
    assert attempts[0].outcome is Outcome.RETRY
    assert attempts[0].error == "connection closed before an answer"
    assert len(server.requests) == 1


async def test_garbage_instead_of_an_answer_is_transient_and_drops_the_connection() -> None:
    async with serving(RawServer(b"SMTP ready\r\n\r\n")) as server:
        attempts = await post_n(server, 2)
    assert [a.outcome for a in attempts] == [Outcome.RETRY] * 2
    assert all("bad answer" in (a.error or "") for a in attempts)
    assert server.connections == 2


async def test_errors_never_quote_the_urls_path() -> None:
    async with serving(RawServer(b"", close_after=0)) as server:
        closed = (await post_n(server, 1))[0]
    refused = (await post_n(server, 1))[0]  # the listener is gone now
    bad = await HttpPoster(1, 1, True).post(server.url, b"", {"X": "a\r\nb"}, now_s=0)
    assert [a.outcome for a in (closed, refused, bad)] == [
        Outcome.RETRY,
        Outcome.RETRY,
        Outcome.FAILED,
    ]
    assert all("secret-token" not in (a.error or "") for a in (closed, refused, bad))


@pytest.mark.parametrize("host", ["a..b", "a" * 64 + ".example"])
def test_a_host_name_the_resolver_cannot_encode_is_a_bad_url(host: str) -> None:
    """Resolving it raises UnicodeError (a ValueError, not an OSError) on both loops."""

    async def post() -> Attempt:
        poster = HttpPoster(concurrency=1, timeout_s=2, allow_private=False)
        try:
            return await poster.post(f"http://{host}/hook", b"{}", {}, now_s=0)
        finally:
            await poster.close()

    for attempt in (asyncio.run(post()), uvloop.run(post())):
        assert (attempt.outcome, attempt.error) == (
            Outcome.FAILED,
            "bad URL: host name cannot be encoded",
        )


@dataclass
class Certificate:
    cert_pem: Path
    key_pem: Path


@pytest.fixture(scope="module")
def localhost_cert(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Certificate]:
    """A self-signed certificate for localhost and 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    found = Certificate(folder / "cert.pem", folder / "key.pem")
    found.cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    found.key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    yield found


async def test_tls_is_verified_against_the_host_name(localhost_cert: Certificate) -> None:
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(localhost_cert.cert_pem, localhost_cert.key_pem)
    trusting = ssl.create_default_context(cafile=localhost_cert.cert_pem)
    async with serving(RawServer(OK), tls=server_tls, host="localhost") as server:
        poster = HttpPoster(concurrency=2, timeout_s=2, allow_private=True, tls=trusting)
        try:
            trusted = await post_n(server, 3, poster)
        finally:
            await poster.close()
        untrusted = (await post_n(server, 1))[0]  # the default context: the system's CAs
    assert [a.outcome for a in trusted] == [Outcome.SENT] * 3
    assert untrusted.outcome is Outcome.RETRY and "CERTIFICATE_VERIFY_FAILED" in (
        untrusted.error or ""
    )
    # One connection served the trusted three; the untrusted handshake never completed.
    assert (len(server.requests), server.connections) == (3, 1)


def test_on_uvloop_connections_are_reused_and_given_up_ones_reset() -> None:
    """The sender runs on uvloop, whose transports are not asyncio's classes."""

    async def both() -> tuple[list[Attempt], RawServer, Attempt]:
        async with serving(RawServer(OK)) as server:
            reused = await post_n(server, 3)
        async with serving(RawServer(b"", close_after=None)) as silent:
            poster = HttpPoster(concurrency=2, timeout_s=0.3, allow_private=True)
            try:
                given_up = (await post_n(silent, 1, poster))[0]
            finally:
                await poster.close()
        return reused, server, given_up

    reused, server, given_up = uvloop.run(both())
    assert [a.outcome for a in reused] == [Outcome.SENT] * 3 and server.connections == 1
    assert given_up.error == "timeout: no answer within 0.3 s"


async def test_an_upgrade_or_a_second_answer_is_never_read_as_the_next_requests() -> None:
    upgrade = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"
    )
    async with serving(RawServer(upgrade)) as server:
        upgraded = await post_n(server, 2)
    assert [a.outcome for a in upgraded] == [Outcome.RETRY] * 2
    assert all("bad answer" in (a.error or "") for a in upgraded)
    twice = OK + b"HTTP/1.1 500 Late\r\nContent-Length: 0\r\n\r\n"
    async with serving(RawServer(twice)) as server:
        attempts = await post_n(server, 3)
        await asyncio.sleep(0)
    assert [a.response_code for a in attempts] == [200] * 3
    assert server.connections == 3


async def test_a_connect_that_hangs_times_out_as_no_connection() -> None:
    """A listener that never accepts, its queue (one connection at backlog 0) full:
    the kernel drops further handshakes, so the poster's connect hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = [socket.create_connection(listener.getsockname(), timeout=1)]
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    poster = HttpPoster(concurrency=2, timeout_s=0.5, allow_private=True)
    try:
        attempt = await poster.post(url, b"{}", {}, now_s=0)
    finally:
        await poster.close()
        for sock in (*fillers, listener):
            sock.close()
    assert (attempt.outcome, attempt.error) == (
        Outcome.RETRY,
        "timeout: no connection within 0.5 s",
    )


async def test_an_address_that_drops_the_handshake_leaves_time_for_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two addresses, the first a listener whose queue is full: it gets its share of
    the connect timeout, and the second is connected within the poster's timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = [socket.create_connection(listener.getsockname(), timeout=1)]
    async with serving(RawServer(OK)) as server:
        port = int(server.url.split(":")[2].split("/")[0])
        addresses = [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", listener.getsockname()),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
        ]

        async def dead_then_live(self: CheckedResolver, host: str, port: int) -> object:
            return addresses

        monkeypatch.setattr(CheckedResolver, "resolve", dead_then_live)
        poster = HttpPoster(concurrency=2, timeout_s=1, allow_private=True)
        try:
            attempt = await poster.post(server.url, b"{}", {}, now_s=0)
        finally:
            await poster.close()
            for sock in (*fillers, listener):
                sock.close()
    assert attempt.outcome is Outcome.SENT and len(server.requests) == 1


async def test_checked_resolutions_are_reused_for_the_dns_ttl(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()
    asked: list[str] = []
    real = loop.getaddrinfo

    async def counting(host: str, *args: object, **kwargs: object) -> object:
        asked.append(host)
        return await real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loop, "getaddrinfo", counting)
    now = [loop.time()]
    monkeypatch.setattr(loop, "time", lambda: now[0])
    resolver = CheckedResolver(allow_private=True)
    first = await resolver.resolve("localhost", 80)
    assert await resolver.resolve("localhost", 80) == first and asked == ["localhost"]
    now[0] += DNS_TTL_S + 0.1
    await resolver.resolve("localhost", 80)
    assert asked == ["localhost", "localhost"]


async def test_concurrent_lookups_of_one_host_share_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even when one of the callers gives up (its connect timeout) meanwhile."""
    loop = asyncio.get_running_loop()
    asked: list[str] = []
    real = loop.getaddrinfo

    async def slow(host: str, *args: object, **kwargs: object) -> object:
        asked.append(host)
        await asyncio.sleep(0.2)
        return await real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loop, "getaddrinfo", slow)
    resolver = CheckedResolver(allow_private=True)
    impatient = asyncio.wait_for(resolver.resolve("localhost", 80), 0.05)
    found = await asyncio.gather(
        impatient, *(resolver.resolve("localhost", 80) for _ in range(4)), return_exceptions=True
    )
    assert isinstance(found[0], TimeoutError)
    assert found[1] == found[2] == found[3] == found[4] and isinstance(found[1], list)
    assert asked == ["localhost"]
