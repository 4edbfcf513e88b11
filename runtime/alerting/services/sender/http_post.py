"""One pooled HTTP client for every webhook and Slack request of a sender process.

aiohttp rather than httpx: httpcore's pool checks every idle connection (a ``select``
each) on each request, O(connections) per delivery; aiohttp's pool does not, and its
parser is in C (the profile and figures are in docs/performance.md).

The resolver is where the URL check becomes binding: the addresses a connection is made
to are the ones that were checked, so a DNS answer that changes between the check and
the connect (DNS rebinding) cannot steer a delivery to a private address.
"""

from __future__ import annotations

import socket

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from alerting.aio import one_line
from alerting.domain.delivery import Attempt, classify_http
from alerting.domain.urls import forbidden_among

# A receiver's answer is read up to this much and dropped: a short body read to its end
# lets the connection be reused; a longer one is not ours to buffer, so the connection
# is closed instead.
DRAIN_LIMIT_BYTES = 64 * 1024
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
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self._timeout_s),
            cookie_jar=aiohttp.DummyCookieJar(),  # one tenant's cookies never reach another
            auto_decompress=False,
            trust_env=False,  # no proxy from the environment between us and the check
            skip_auto_headers=("Accept-Encoding",),
        )

    async def post(self, url: str, body: bytes, headers: dict[str, str], now_s: float) -> Attempt:
        session = self._session or self._open()
        self._session = session
        try:
            # A redirect could lead past the URL safety check: never followed.
            async with session.post(url, data=body, headers=headers, allow_redirects=False) as r:
                await _drain(r)
                return classify_http(r.status, r.headers.get("Retry-After"), now_s=now_s)
        except TimeoutError as exc:
            return Attempt.transient(f"timeout: {one_line(exc)}")
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


async def _drain(response: aiohttp.ClientResponse) -> None:
    content = response.content
    read = 0
    while read <= DRAIN_LIMIT_BYTES:
        chunk = await content.read(DRAIN_LIMIT_BYTES + 1 - read)
        if not chunk:
            return
        read += len(chunk)
    response.close()  # more than we read: drop the connection rather than buffer it
