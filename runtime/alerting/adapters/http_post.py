"""One pooled HTTP client for every webhook and Slack request of a sender process.

Our own HTTP/1.1 client on asyncio protocols and httptools' C parser, rather than
aiohttp or httpx: a webhook is one small POST and one small answer, and aiohttp's
general request path (request and response objects, header multidicts, stream
readers, timers) was a quarter of the sender's CPU in the end-to-end profile, httpx's
pool checks every idle connection on each request. The figures are in
docs/performance.md ("Issue 19: the webhook HTTP path"). What the client does not do is
on purpose: no proxies (nothing between us and the URL check), no redirects (a
redirect could lead past that check), no cookies (one tenant's never reach another),
no compressed answers.

Every request the poster reports as not SENT is retried later, so it must not reach the
receiver after the report. Four decisions keep that true (issue 13, item 3: a receiver
on ``http.server`` defaults got 1% of its webhooks twice):

* the answer is its status line: a 2xx is SENT however its body ends;
* giving up on a request resets its connection, so a request still queued in the
  kernel is dropped rather than delivered later (``http_pool``, SO_LINGER);
* connecting and answering have a timeout each, so a slow connect cannot leave a
  request only moments to be answered (``post``);
* a request is written once: only a pooled connection found closed before the write is
  swapped for another (``ConnectionPool``). A connection that ends after the write
  may have delivered it, so that attempt is reported RETRY, and the worker's retry,
  with the same Idempotency-Key, is the only second send.

The first KB of a text answer is kept for the attempt log (``Attempt.excerpt``): it is
taken from the reads that drain the body anyway, so it costs no read and no wait.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from urllib.parse import urlsplit

from alerting.adapters.http_connection import DRAIN_LIMIT_BYTES, Answer, Http1Connection
from alerting.adapters.http_pool import DNS_TTL_S, CheckedResolver, ConnectionPool, UnsafeAddress
from alerting.adapters.http_request import BadRequest, Origin, parse_target, request_bytes
from alerting.aio import one_line
from alerting.domain.delivery import Attempt, Outcome, classify_http
from alerting.domain.excerpts import http_excerpt

__all__ = ["DNS_TTL_S", "DRAIN_LIMIT_BYTES", "CheckedResolver", "HttpPoster", "UnsafeAddress"]

log = logging.getLogger(__name__)


class HttpPoster:
    """POST a body, classify the answer; never raises for what a receiver does.

    ``tls`` replaces the default verifying context (tests trust their own CA with it).
    """

    def __init__(
        self,
        concurrency: int,
        timeout_s: float,
        allow_private: bool,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._concurrency = concurrency
        self._timeout_s = timeout_s
        self._allow_private = allow_private
        self._tls = tls
        self._pool: ConnectionPool | None = None
        # The pool's loop, kept (why: alerting.aio): a request would ask for it four times.
        self._loop: asyncio.AbstractEventLoop | None = None

    async def post(self, url: str, body: bytes, headers: dict[str, str], now_s: float) -> Attempt:
        attempt = await self._post(url, body, headers, now_s)
        if attempt.outcome is not Outcome.SENT and log.isEnabledFor(logging.DEBUG):
            # The reason of a retry is otherwise lost once a later attempt succeeds.
            # One line, the host only: webhook and Slack URLs carry secrets in the path.
            log.debug(
                "POST to %s: %s (%s)", urlsplit(url).hostname, attempt.outcome.value, attempt.error
            )
        return attempt

    async def _post(self, url: str, body: bytes, headers: dict[str, str], now_s: float) -> Attempt:
        try:
            target = parse_target(url)
        except BadRequest as exc:
            return Attempt.permanent(f"bad URL: {exc}")
        try:
            request = request_bytes(target, headers, body)
        except BadRequest as exc:
            return Attempt.permanent(f"bad header: {exc}")
        pool = self._pool or self._open()
        loop = self._loop
        assert loop is not None  # set with the pool
        # ``timeout_s`` to get a connection (a slot, DNS, connect, TLS), then
        # ``timeout_s`` for the answer to start once the request is written, and
        # between its reads. One total budget let a connect slowed by a full listen
        # queue (SYNs are retried after 1 s and 3 s) eat most of it: the request then
        # went out with moments left, reached the receiver, and was answered just
        # after the sender had given up on it. The total still bounds a receiver that
        # trickles its answer.
        give_up_at = loop.time() + 2 * self._timeout_s
        origin = target.origin
        connection = await pool.acquire_ready(origin)
        if connection is None:
            found = await self._connect(pool, origin)
            if isinstance(found, Attempt):
                return found
            connection = found
        reusable = False
        try:
            answer = connection.send(request)
            if not await self._until_head(connection, answer, loop, give_up_at):
                return Attempt.transient(f"timeout: no answer within {self._timeout_s:g} s")
            if answer.status is None:
                return Attempt.transient(answer.failure or "connection closed before an answer")
            # Classified before the body is read: the status is the receiver's answer.
            # An HTTP/1.0 body ends with the connection, and a reset or timeout while
            # it is read must not turn a 2xx into a second delivery.
            attempt = classify_http(answer.status, answer.retry_after, now_s=now_s)
            await self._drain(connection, answer, loop, give_up_at)
            reusable = answer.done and answer.keep_alive and connection.all_written()
            excerpt = http_excerpt(answer.content_type, bytes(answer.head))
            return attempt if excerpt is None else attempt.excerpted(excerpt)
        finally:
            pool.release(origin, connection, reusable)

    async def _connect(self, pool: ConnectionPool, origin: Origin) -> Http1Connection | Attempt:
        """A new connection (or one freed meanwhile), else why there is none."""
        try:
            async with asyncio.timeout(self._timeout_s):
                return await pool.acquire(origin)
        except TimeoutError:
            return Attempt.transient(f"timeout: no connection within {self._timeout_s:g} s")
        except UnsafeAddress as exc:
            return Attempt.permanent(f"URL refused: {exc}")
        except UnicodeError:
            # The resolver's IDNA encoding refuses the name (an empty label as in
            # ``a..b``, a label over 63 characters): no lookup could ever succeed.
            return Attempt.permanent("bad URL: host name cannot be encoded")
        except OSError as exc:  # unresolvable, refused, unreachable, TLS refused
            where = f"{origin.host}:{origin.port}"
            return Attempt.transient(f"cannot connect to {where}: {one_line(exc)}")

    async def _until_head(
        self,
        connection: Http1Connection,
        answer: Answer,
        loop: asyncio.AbstractEventLoop,
        end: float,
    ) -> bool:
        """Wait for the status line (or the connection's end); False on a timeout."""
        while answer.status is None and not answer.ended:
            if not await connection.wait(min(self._timeout_s, end - loop.time())):
                return False
        return True

    async def _drain(
        self,
        connection: Http1Connection,
        answer: Answer,
        loop: asyncio.AbstractEventLoop,
        end: float,
    ) -> None:
        """Read the body to its end, up to DRAIN_LIMIT_BYTES, so the connection can
        serve the next request. A body cut short, too slow or too long only costs the
        connection (``answer.done`` stays false)."""
        while not (answer.done or answer.ended):
            if not await connection.wait(min(self._timeout_s, end - loop.time())):
                return

    def _open(self) -> ConnectionPool:
        # Created on first use: its semaphore binds to the running loop.
        tls = self._tls or ssl.create_default_context()
        self._loop = asyncio.get_running_loop()
        self._pool = ConnectionPool(
            self._concurrency,
            CheckedResolver(self._allow_private),
            tls,
            connect_timeout_s=self._timeout_s,
        )
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
            self._loop = None
