"""How the sender's HTTP connection gives an answer's bytes to httptools: each head
whole, however it was split into reads, so a receiver trickling its head costs one
parse of it rather than a concatenation per read (quadratic in the head's size)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from alerting.adapters.http_connection import HEAD_LIMIT_BYTES, Http1Connection


class Transport:
    """Stands for the socket: records writes and whether the connection was reset."""

    def __init__(self) -> None:
        self.aborted = False

    def write(self, data: bytes) -> None:
        pass

    def abort(self) -> None:
        self.aborted = True

    def is_closing(self) -> bool:
        return self.aborted


class CountingParser:
    """httptools' parser (a C type whose methods cannot be patched), each feed recorded."""

    def __init__(self, parser: Any) -> None:
        self._parser = parser
        self.fed: list[bytes] = []

    def feed_data(self, data: bytes) -> None:
        self.fed.append(bytes(data))
        self._parser.feed_data(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """Only for the connection's waits, which these tests do not use."""
    own = asyncio.new_event_loop()
    yield own
    own.close()


def connection(
    loop: asyncio.AbstractEventLoop,
) -> tuple[Http1Connection, Transport, CountingParser]:
    conn = Http1Connection(loop)
    transport = Transport()
    conn.connection_made(transport)  # type: ignore[arg-type]
    parser = CountingParser(conn._parser)
    conn._parser = parser  # type: ignore[assignment]
    return conn, transport, parser


def trickle(conn: Http1Connection, data: bytes) -> None:
    for i in range(len(data)):
        conn.data_received(data[i : i + 1])


HEAD = (
    b"HTTP/1.1 503 Busy\r\nRetry-After: 9\r\nContent-Type: text/plain\r\n"
    + b"X-Padding: "
    + b"p" * 2000
    + b"\r\nContent-Length: 4\r\n\r\n"
)


def test_a_head_sent_one_byte_at_a_time_reaches_the_parser_in_one_piece(
    loop: asyncio.AbstractEventLoop,
) -> None:
    conn, transport, parser = connection(loop)
    answer = conn.send(b"POST / HTTP/1.1\r\n\r\n")
    trickle(conn, HEAD + b"busy")
    assert parser.fed == [HEAD, b"b", b"u", b"s", b"y"]
    assert (answer.status, answer.retry_after, answer.content_type) == (503, "9", "text/plain")
    assert (bytes(answer.head), answer.done, answer.keep_alive) == (b"busy", True, True)
    assert conn.usable() and not transport.aborted


@pytest.mark.parametrize("split", [None, 1, 7])
def test_each_head_after_a_1xx_is_given_whole_however_the_reads_fall(
    loop: asyncio.AbstractEventLoop, split: int | None
) -> None:
    cont = b"HTTP/1.1 100 Continue\r\n\r\n"
    hints = b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
    final = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
    data = b"\r\n" + cont + hints + final + b"ok"
    conn, _, parser = connection(loop)
    answer = conn.send(b"POST / HTTP/1.1\r\n\r\n")
    reads = [data] if split is None else [data[i : i + split] for i in range(0, len(data), split)]
    for read in reads:
        conn.data_received(read)
    # The blank line llhttp skips before a status line goes with the head that follows;
    # the final head is given with what followed it in its read.
    assert parser.fed[:2] == [b"\r\n" + cont, hints]
    assert parser.fed[2].startswith(final) and b"".join(parser.fed[2:]) == final + b"ok"
    assert (answer.status, bytes(answer.head), answer.done) == (200, b"ok", True)
    assert conn.usable()


def test_a_head_past_the_limit_without_its_blank_line_is_never_parsed(
    loop: asyncio.AbstractEventLoop,
) -> None:
    conn, transport, parser = connection(loop)
    answer = conn.send(b"POST / HTTP/1.1\r\n\r\n")
    head = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * HEAD_LIMIT_BYTES
    for i in range(0, len(head), 100):
        conn.data_received(head[i : i + 100])
    assert parser.fed == []
    assert (answer.status, answer.ended, answer.failure) == (
        None,
        True,
        "answer headers too large",
    )
    assert transport.aborted


@pytest.mark.parametrize("before", [b"", b"\r\n"])
def test_bytes_after_an_answer_that_ended_with_its_head_cost_the_connections_reuse(
    loop: asyncio.AbstractEventLoop, before: bytes
) -> None:
    """Whether the parser sees them (the final head is given with what follows) or not
    (a head fed alone, as one after blank lines is)."""
    conn, _, _ = connection(loop)
    answer = conn.send(b"POST / HTTP/1.1\r\n\r\n")
    conn.data_received(before + b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 500 Late\r\n")
    assert (answer.status, answer.done) == (204, True)
    assert not conn.usable()


def test_a_final_head_is_given_with_the_body_after_it_then_the_body_as_it_comes(
    loop: asyncio.AbstractEventLoop,
) -> None:
    conn, _, parser = connection(loop)
    answer = conn.send(b"POST / HTTP/1.1\r\n\r\n")
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    conn.data_received(head[:5])
    conn.data_received(head[5:] + b"2\r\nok")
    conn.data_received(b"\r\n0\r\n\r\n")
    assert parser.fed == [head + b"2\r\nok", b"\r\n0\r\n\r\n"]
    assert (bytes(answer.head), answer.done) == (b"ok", True)
