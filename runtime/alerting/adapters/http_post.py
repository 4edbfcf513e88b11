"""One pooled HTTP client for every webhook and Slack request of a sender process.

aiohttp rather than httpx: httpcore's pool checks every idle connection (a ``select``
each) on each request, O(connections) per delivery; aiohttp's pool does not, and its
parser is in C (the profile and figures are in docs/performance.md).

The resolver is where the URL check becomes binding: the addresses a connection is made
to are the ones that were checked, so a DNS answer that changes between the check and
the connect (DNS rebinding) cannot steer a delivery to a private address.

Every request the poster reports as not SENT is retried later, so it must not reach the
receiver after the report. Three decisions keep that true (issue 13, item 3: a receiver
on ``http.server`` defaults got 1% of its webhooks twice):

* the answer is its status line: a 2xx is SENT however its body ends;
* giving up on a request resets its connection, so a request still queued in the
  kernel is dropped rather than delivered later (``_resetting_socket``);
* connecting and answering have a timeout each, so a slow connect cannot leave a
  request only moments to be answered (``_timeouts``).

The first KB of a text answer is kept for the attempt log (``Attempt.excerpt``): it is
taken from the reads that drain the body anyway, so it costs no read and no wait.
"""

from __future__ import annotations

import logging
import socket
import struct
from dataclasses import replace
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from alerting.aio import one_line
from alerting.domain.delivery import Attempt, Outcome, classify_http
from alerting.domain.excerpts import EXCERPT_BYTES, http_excerpt
from alerting.domain.urls import forbidden_among

log = logging.getLogger(__name__)

# A receiver's answer is read up to this much and dropped: a short body read to its end
# lets the connection be reused; a longer one is not ours to buffer, so the connection
# is closed instead.
DRAIN_LIMIT_BYTES = 64 * 1024
# SO_LINGER on, 0 s: close() resets the connection and drops unsent data (see
# _resetting_socket).
RESET_ON_CLOSE = struct.pack("ii", 1, 0)
# Resolutions (checked ones) are reused this long: a batch to one receiver resolves
# its host once, while a DNS change is still noticed quickly.
DNS_TTL_S = 5


class UnsafeAddress(OSError):
    """A host resolved to an address the platform must not call."""


class CheckedResolver(AbstractResolver):
    """The threaded system resolver, refusing any answer with a non-public address."""

    def __init__(self, allow_private: bool) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        if not self._allow_private:
            bad = forbidden_among(r["host"] for r in found)
            if bad is not None:
                raise UnsafeAddress(f"host {host!r} resolves to a non-public address ({bad})")
        return found

    async def close(self) -> None:
        await self._inner.close()


class HttpPoster:
    """POST a body, classify the answer; never raises for what a receiver does."""

    def __init__(self, concurrency: int, timeout_s: float, allow_private: bool) -> None:
        self._concurrency = concurrency
        self._timeout_s = timeout_s
        self._allow_private = allow_private
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Created on first use: a ClientSession binds to the running loop.
        connector = aiohttp.TCPConnector(
            limit=self._concurrency,
            ttl_dns_cache=DNS_TTL_S,
            resolver=CheckedResolver(self._allow_private),
            socket_factory=_resetting_socket,
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=_timeouts(self._timeout_s),
            cookie_jar=aiohttp.DummyCookieJar(),  # one tenant's cookies never reach another
            auto_decompress=False,
            trust_env=False,  # no proxy from the environment between us and the check
            skip_auto_headers=("Accept-Encoding",),
        )

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
        session = self._session or self._open()
        self._session = session
        try:
            # A redirect could lead past the URL safety check: never followed.
            async with session.post(url, data=body, headers=headers, allow_redirects=False) as r:
                # Classified before the body is read: the status is the receiver's
                # answer. An HTTP/1.0 body ends with the connection, and a reset or
                # timeout while it is read must not turn a 2xx into a second delivery.
                attempt = classify_http(r.status, r.headers.get("Retry-After"), now_s=now_s)
                head = await _drain(r)
                excerpt = http_excerpt(r.headers.get("Content-Type"), head)
                return attempt if excerpt is None else replace(attempt, excerpt=excerpt)
        except aiohttp.ConnectionTimeoutError:
            # Nothing was sent. (The exception's text would carry the whole URL.)
            return Attempt.transient(f"timeout: no connection within {self._timeout_s:g} s")
        except TimeoutError:
            return Attempt.transient(f"timeout: no answer within {self._timeout_s:g} s")
        except aiohttp.ClientConnectorDNSError as exc:
            if isinstance(exc.os_error, UnsafeAddress):
                return Attempt.permanent(f"URL refused: {exc.os_error}")
            return Attempt.transient(one_line(exc))
        except aiohttp.InvalidURL as exc:
            return Attempt.permanent(f"bad URL: {one_line(exc)}")
        except aiohttp.ClientError as exc:  # refused, reset, protocol errors
            return Attempt.transient(one_line(exc))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _timeouts(timeout_s: float) -> aiohttp.ClientTimeout:
    """``timeout_s`` to get a connection (pool, DNS, connect), then ``timeout_s`` for
    the answer to start once the request is written, and between its reads.

    One total budget let a connect slowed by a full listen queue (SYNs are retried
    after 1 s and 3 s) eat most of it: the request then went out with moments left,
    reached the receiver, and was answered just after the sender had given up on it.
    The total still bounds a receiver that trickles its answer.
    """
    return aiohttp.ClientTimeout(total=2 * timeout_s, connect=timeout_s, sock_read=timeout_s)


def _resetting_socket(addr_info: aiohttp.AddrInfoType) -> socket.socket:
    """A TCP socket whose close resets the connection and drops what is still unsent.

    A graceful close leaves a request the receiver has not acknowledged in the kernel,
    which keeps sending it after the poster has reported a timeout: a receiver whose
    listen queue overflowed (``http.server``'s backlog is 5) accepted it seconds later
    and processed it, and the retry delivered it a second time. A reset drops it, so a
    request given up on reaches the receiver only if its kernel had acknowledged it
    already. Every other close is of a connection with nothing in flight (the answer
    was read, or it sat idle in the pool), where a reset instead of a FIN costs nothing.
    """
    family, kind, proto, _, _ = addr_info
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
    return sock


async def _drain(response: aiohttp.ClientResponse) -> bytes:
    """Read and drop the answer's body, so the connection can serve the next request;
    return its first ``EXCERPT_BYTES`` (what arrived of them, if it ended badly).

    Never raises: the answer is classified already, and a body that ends badly only
    costs the connection.
    """
    content = response.content
    head = b""
    read = 0
    try:
        while read <= DRAIN_LIMIT_BYTES:
            chunk = await content.read(DRAIN_LIMIT_BYTES + 1 - read)
            if not chunk:
                return head
            if read < EXCERPT_BYTES:
                head += chunk[: EXCERPT_BYTES - read]
            read += len(chunk)
    except (aiohttp.ClientError, TimeoutError):
        pass  # cut short, reset, or too slow: the connection is not reused
    response.close()  # (or more than we read: dropped rather than buffered)
    return head
