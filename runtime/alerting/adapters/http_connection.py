"""One HTTP/1.1 client connection: a request written at once, its answer read by
httptools' C parser (llhttp) straight from the protocol's callbacks.

No stream reader, no header multidict, no per-read future beyond what waiting needs:
the answer's status, the two headers the poster uses (Retry-After, Content-Type) and
the body's first ``EXCERPT_BYTES`` are kept; the rest of a body is counted and dropped.

Each head (status line and headers) is buffered until its blank line arrived and only
then given to the parser, in one piece: httptools grows a header split over several
reads by concatenation, so a receiver trickling its head one byte per segment would
otherwise cost time quadratic in the head's size on the sender's event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

import httptools

from alerting.domain.excerpts import EXCERPT_BYTES

# A receiver's answer is read up to this much and dropped: a short body read to its end
# lets the connection be reused; a longer one is not ours to buffer, so the connection
# is closed instead.
DRAIN_LIMIT_BYTES = 64 * 1024
# An answer's heads (1xx ones included) are read up to this much: webhook receivers
# send a few hundred bytes, and aiohttp, which the client replaced, refused a header
# line over 8 KiB.
HEAD_LIMIT_BYTES = 16 * 1024
# The bytes after the final head that are not body (chunk framing, trailers) are read
# up to this much. They reach the parser read by read, so a trailer trickled in costs
# time quadratic in this bound, which is why it stays small; past it only the
# connection is lost, the status having been read.
FRAMING_LIMIT_BYTES = 8 * 1024
_END_OF_HEAD = b"\r\n\r\n"
# How a final answer's head starts (2xx to 5xx). Any other (a 1xx, blank lines before
# the status line, a malformed line) is fed alone and left to the parser to judge.
_FINAL_STATUS_LINES = tuple(
    b"HTTP/1.%d %d" % (minor, first) for minor in (1, 0) for first in range(2, 6)
)


class Answer:
    """What has arrived of one request's answer."""

    __slots__ = (
        "content_type",
        "done",
        "ended",
        "failure",
        "fed",
        "head",
        "head_size",
        "keep_alive",
        "read",
        "retry_after",
        "status",
    )

    def __init__(self) -> None:
        self.status: int | None = None
        self.retry_after: str | None = None
        self.content_type: str | None = None
        self.head = bytearray()  # the body's first EXCERPT_BYTES
        self.read = 0
        self.fed = 0  # every byte of the answer given to the parser, body or not
        self.head_size = 0  # of ``fed``, the heads up to the final one's blank line
        self.done = False  # the whole answer arrived, framed by its headers
        self.keep_alive = False
        # No more of this answer will come: the connection ended, the parser refused
        # the bytes, the body passed DRAIN_LIMIT_BYTES, the heads HEAD_LIMIT_BYTES or
        # the framing FRAMING_LIMIT_BYTES.
        # The connection is not reused.
        self.ended = False
        self.failure: str | None = None


class Http1Connection(asyncio.Protocol):
    """A connection serving one request at a time; the pool reuses it between them."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop  # the pool's, kept rather than asked for (why: alerting.aio)
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._answer: Answer | None = None
        self._informational = False
        # A head is awaited (after the request was written, after a 1xx answer): reads
        # gather in ``_pending`` until its blank line.
        self._in_head = False
        self._pending = bytearray()
        self._waiter: asyncio.Future[bool] | None = None
        # An answer no request asked for began (a second answer to one request): the
        # next request's answer could not be told apart from it, so no reuse.
        self._stray = False
        self.closed = False
        # The pool's: closes the connection once it sat idle too long.
        self.idle_timer: asyncio.TimerHandle | None = None
        # Called when the connection ends while it sits idle in the pool.
        self.on_lost: Callable[[Http1Connection], None] | None = None

    # --- asyncio.Protocol ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (uvloop's transports are not asyncio.Transport subclasses: no isinstance.)
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        answer = self._answer
        if answer is None:  # bytes no request asked for: the connection is not trusted
            self.abort()
            return
        if answer.ended:  # given up on: its connection is closing, nothing more is parsed
            return
        try:
            self._take(answer, data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self._fail(answer, f"bad answer: {type(exc).__name__}")
        self._wake()

    def _take(self, answer: Answer, data: bytes) -> None:
        """Give one read to the parser: each head whole once its blank line arrived,
        what follows the final head as it comes."""
        rest = self._take_heads(answer, data) if self._in_head else data
        if rest:
            self._feed(answer, rest)
        if answer.status is None or answer.ended:
            return
        # Checked even once the answer is done: trailers over the bound cost the
        # connection whether they came in one read or trickled in.
        if answer.fed - answer.head_size - answer.read > FRAMING_LIMIT_BYTES:
            self._fail(answer, "answer headers too large")

    def _take_heads(self, answer: Answer, data: bytes) -> bytes:
        """Gather heads until their blank line and feed each whole (several may come
        in one read after a 1xx); return what follows the final one, for the caller
        to feed. A final head goes back with what follows it: one call parses both."""
        pending = self._pending
        while self._in_head:
            if pending:
                # The blank line may straddle the previous read: the scan starts just
                # before its end, so a head costs one pass however it is split.
                start = max(0, len(pending) - len(_END_OF_HEAD) + 1)
                pending += data
                buffer: bytes | bytearray = pending
            else:
                start, buffer = 0, data
            found = buffer.find(_END_OF_HEAD, start)
            size = len(buffer) if found < 0 else found + len(_END_OF_HEAD)
            if answer.fed + size > HEAD_LIMIT_BYTES:
                self._fail(answer, "answer headers too large")
                return b""
            if found < 0:
                if buffer is data:
                    pending += data
                return b""
            head_end = answer.fed + size
            if buffer.startswith(_FINAL_STATUS_LINES):
                answer.head_size = head_end
                data = bytes(buffer)
                pending.clear()
                return data
            # A 1xx, or a head the parser shall judge: what follows may be the start
            # of the next head, to be gathered in turn.
            head, data = bytes(buffer[:size]), bytes(buffer[size:])
            pending.clear()
            self._feed(answer, head)  # clears _in_head, or sets it again after a 1xx
            if self._answer is None:  # the final answer ended with its head (a 204)
                # Bytes after it answer no request: the connection is not reused.
                self._stray = self._stray or bool(data)
                return b""
            if not self._in_head:
                answer.head_size = head_end
        return data

    def _feed(self, answer: Answer, data: bytes) -> None:
        answer.fed += len(data)
        self._parser.feed_data(data)

    def eof_received(self) -> bool:
        # A body without Content-Length or chunks ends here (HTTP/1.0); any other ends
        # badly. Either way the connection is done: closing it is what returning False
        # asks for.
        if self._answer is not None:
            self._answer.ended = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._answer is not None:
            self._answer.ended = True
        self._wake()
        if self.on_lost is not None:
            self.on_lost(self)

    # --- httptools callbacks ---

    def on_message_begin(self) -> None:
        if self._answer is None:
            self._stray = True

    def on_header(self, name: bytes, value: bytes) -> None:
        answer = self._answer
        if answer is None or self._informational:
            return
        lower = name.lower()
        if lower == b"retry-after":
            answer.retry_after = value.decode("latin-1")
        elif lower == b"content-type":
            answer.content_type = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        answer = self._answer
        status = self._parser.get_status_code()
        # A 1xx (100 Continue, 103 Early Hints) precedes the answer: skipped.
        self._informational = status < 200
        self._in_head = False
        if answer is not None and not self._informational:
            answer.status = status

    def on_body(self, body: bytes) -> None:
        answer = self._answer
        if answer is None or self._informational:
            return
        if len(answer.head) < EXCERPT_BYTES:
            answer.head += body[: EXCERPT_BYTES - len(answer.head)]
        answer.read += len(body)
        if answer.read > DRAIN_LIMIT_BYTES:
            answer.ended = True  # dropped rather than buffered, with its connection
            self.abort()

    def on_message_complete(self) -> None:
        answer = self._answer
        if self._informational:
            self._informational = False
            self._in_head = True  # the next head begins
        elif answer is not None and not answer.ended:
            answer.done = True
            answer.keep_alive = self._parser.should_keep_alive()
            self._answer = None  # any byte from now on belongs to no request

    # --- for the pool and the poster ---

    def usable(self) -> bool:
        """Open, and not seen closing by the other side."""
        transport = self._transport
        if self.closed or self._stray or transport is None:
            return False
        return not transport.is_closing()

    def all_written(self) -> bool:
        """The whole request left for the kernel. A receiver may answer before it read
        the body (an early 413); the rest of that body would precede the next request."""
        transport = self._transport
        return transport is not None and transport.get_write_buffer_size() == 0

    def send(self, request: bytes) -> Answer:
        """Write the request (one write) and return its answer, filled as it arrives."""
        assert self._transport is not None
        answer = Answer()
        self._answer = answer
        self._in_head = True
        self._pending.clear()
        self._transport.write(request)
        return answer

    async def wait(self, timeout_s: float) -> bool:
        """Wait until more of the answer arrived (or the connection ended); False when
        ``timeout_s`` passed first. One timer, no task or cancellation involved."""
        if timeout_s <= 0:
            return False
        waiter: asyncio.Future[bool] = self.loop.create_future()
        self._waiter = waiter
        timer = self.loop.call_later(timeout_s, _expire, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def abort(self) -> None:
        """Close at once, dropping what is unsent: the socket's SO_LINGER makes this a
        reset, so a request given up on is not delivered later (see http_pool)."""
        if self._transport is not None:
            self._transport.abort()

    def _fail(self, answer: Answer, why: str) -> None:
        answer.ended = True
        answer.failure = why
        self.abort()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)
