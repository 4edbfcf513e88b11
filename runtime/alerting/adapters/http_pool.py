"""Connections for the sender's HTTP client: checked resolution, connecting, keep-alive.

The resolver is where the URL check becomes binding: a connection is made to the very
addresses that were checked, so a DNS answer that changes between the check and the
connect (DNS rebinding) cannot steer a delivery to a private address.

Every socket closes with a reset (SO_LINGER on, 0 s), which drops what is still
unsent. A graceful close leaves a request the receiver has not acknowledged in the
kernel, which keeps sending it after the poster has reported a timeout: a receiver
whose listen queue overflowed (``http.server``'s backlog is 5) accepted it seconds
later and processed it, and the retry delivered it a second time. A reset drops it, so
a request given up on reaches the receiver only if its kernel had acknowledged it
already. Every other close is of a connection with nothing in flight (the answer was
read, or it sat idle in the pool), where a reset instead of a FIN costs nothing.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from collections.abc import Sequence
from typing import Any

from alerting.adapters.http_connection import Http1Connection
from alerting.adapters.http_request import Origin
from alerting.domain.urls import forbidden_among

# SO_LINGER on, 0 s: close() resets the connection and drops unsent data.
RESET_ON_CLOSE = struct.pack("ii", 1, 0)
# Resolutions (checked ones) are reused this long: a batch to one receiver resolves
# its host once, while a DNS change is still noticed quickly.
DNS_TTL_S = 5
# An idle connection is kept only this long, then closed whether or not its origin is
# called again (a sender calls many tenants' origins: waiting for the next request to
# one of them would keep its sockets open indefinitely). Below the 5 s keep-alive of
# common servers (uvicorn, Node), so the pool rarely hands out one its server is closing.
IDLE_S = 4.0
# Idle connections kept in all, the least recently used closed beyond it: a sender
# calling thousands of origins once each would otherwise hold a socket per origin for
# IDLE_S, past a soft limit of 1,024 open files (Docker's default).
MAX_IDLE = 256
# Expired resolutions are swept once the cache holds this many hosts.
_DNS_SWEEP_AT = 1024

AddrInfo = tuple[socket.AddressFamily, socket.SocketKind, int, str, Any]


class UnsafeAddress(OSError):
    """A host resolved to an address the platform must not call."""


class CheckedResolver:
    """The system resolver (in the loop's thread pool), refusing any answer with a
    non-public address, with its checked answers cached for ``DNS_TTL_S``.

    Concurrent lookups of one host share a single one: a batch to a new receiver would
    otherwise fill the thread pool with the same question.
    """

    def __init__(self, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._cache: dict[tuple[str, int], tuple[float, Sequence[AddrInfo]]] = {}
        self._pending: dict[tuple[str, int], asyncio.Task[Sequence[AddrInfo]]] = {}

    async def resolve(self, host: str, port: int) -> Sequence[AddrInfo]:
        loop = asyncio.get_running_loop()
        key = (host, port)
        hit = self._cache.get(key)
        if hit is not None and hit[0] > loop.time():
            return hit[1]
        lookup = self._pending.get(key)
        if lookup is None:
            lookup = loop.create_task(self._lookup(host, port))
            self._pending[key] = lookup
            lookup.add_done_callback(lambda _: self._pending.pop(key, None))
        # Shielded: one caller's timeout must not cancel the lookup others wait on.
        return await asyncio.shield(lookup)

    async def _lookup(self, host: str, port: int) -> Sequence[AddrInfo]:
        loop = asyncio.get_running_loop()
        found: Sequence[AddrInfo] = await loop.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
        if not self._allow_private:
            bad = forbidden_among(str(info[4][0]) for info in found)
            if bad is not None:
                raise UnsafeAddress(f"host {host!r} resolves to a non-public address ({bad})")
        now = loop.time()
        if len(self._cache) >= _DNS_SWEEP_AT:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
        self._cache[(host, port)] = (now + DNS_TTL_S, found)
        return found


async def connect(
    origin: Origin,
    addresses: Sequence[AddrInfo],
    tls: ssl.SSLContext | None,
    per_address_s: float | None = None,
) -> Http1Connection:
    """A connection to the first of ``addresses`` that accepts one (TLS verified
    against the origin's host name when ``tls`` is given).

    Each address but the last gets ``per_address_s`` to accept: one that drops the
    handshake (a dead host, a full listen queue) would otherwise take the whole
    connect timeout and leave the others untried. Tried one after another rather than
    raced (happy eyeballs, ``staggered_race``): no task per connect, no second socket
    to the same receiver, and a single address (the common case) keeps the whole
    timeout, so a listen queue's SYN retries (1 s, 3 s) can still succeed.
    """
    loop = asyncio.get_running_loop()
    failure: OSError = OSError(f"{origin.host} has no address")
    last = len(addresses) - 1
    for index, (family, kind, proto, _, address) in enumerate(addresses):
        sock = socket.socket(family, kind, proto)
        limit = per_address_s if index < last else None
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
            sock.setblocking(False)
            async with asyncio.timeout(limit):
                await loop.sock_connect(sock, address)
        except OSError as exc:  # TimeoutError (this address' share) included
            sock.close()
            failure = exc
            continue
        except BaseException:
            sock.close()
            raise
        try:
            connection = await _start(loop, sock, origin, tls)
        except BaseException:
            sock.close()
            raise
        return connection
    raise failure


async def _start(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, origin: Origin, tls: ssl.SSLContext | None
) -> Http1Connection:
    connection = Http1Connection(loop)
    await loop.create_connection(
        lambda: connection,
        sock=sock,
        ssl=tls,
        server_hostname=origin.host if tls is not None else None,
    )
    return connection


class ConnectionPool:
    """Keep-alive connections per origin, at most ``limit`` requests in flight in all.

    An idle connection found closed (its server ended it while it sat in the pool) is
    dropped before anything is written to it, and the next one or a new one is used:
    that is the only case a request moves to another connection. Once written, a
    request is never written again by the pool, whatever happens to its connection.
    """

    def __init__(
        self,
        limit: int,
        resolver: CheckedResolver,
        tls: ssl.SSLContext,
        idle_s: float = IDLE_S,
        connect_timeout_s: float | None = None,
        max_idle: int = MAX_IDLE,
    ) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._idle_s = idle_s
        self._max_idle = max_idle
        # Shared among a host's addresses, so each gets a turn (``connect``).
        self._connect_timeout_s = connect_timeout_s
        self._resolver = resolver
        self._tls = tls
        self._idle: dict[Origin, list[Http1Connection]] = {}
        # Every idle connection, oldest release first (a dict keeps insertion order).
        self._idle_order: dict[Http1Connection, Origin] = {}
        self._busy: set[Http1Connection] = set()  # checked out: a request in flight
        self._closed = False

    async def acquire(self, origin: Origin) -> Http1Connection:
        """A connection to ``origin`` with a slot; give both back with ``release``."""
        await self._slots.acquire()
        try:
            connection = self._take_idle(origin)
            if connection is None:
                addresses = await self._resolver.resolve(origin.host, origin.port)
                tls = self._tls if origin.tls else None
                share = self._connect_timeout_s
                if share is not None and addresses:
                    share /= len(addresses)
                connection = await connect(origin, addresses, tls, share)
                if self._closed:  # closed while connecting: close() could not see it
                    connection.abort()
                    raise OSError("the client was closed")
        except BaseException:
            self._slots.release()
            raise
        self._busy.add(connection)
        return connection

    async def acquire_ready(self, origin: Origin) -> Http1Connection | None:
        """An idle connection to ``origin`` if one and a slot are free, else None;
        never waits (the common case of a busy sender needs no timer)."""
        if self._slots.locked():
            return None
        connection = self._take_idle(origin)
        if connection is not None:
            await self._slots.acquire()  # free: returns without suspending
            self._busy.add(connection)
        return connection

    def release(self, origin: Origin, connection: Http1Connection, reusable: bool) -> None:
        self._slots.release()
        self._busy.discard(connection)
        if not (reusable and connection.usable()) or self._closed:
            connection.abort()
            return
        connection.idle_timer = connection.loop.call_later(
            self._idle_s, self._expire, origin, connection
        )
        connection.on_lost = lambda lost: self._unpool(origin, lost)
        self._idle.setdefault(origin, []).append(connection)
        self._idle_order[connection] = origin
        if len(self._idle_order) > self._max_idle:
            oldest, its_origin = next(iter(self._idle_order.items()))
            self._expire(its_origin, oldest)

    async def close(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for connection in idle:
                self._unhook(connection)
                connection.abort()
        self._idle.clear()
        # A request in flight ends now (its poster reports it RETRY), rather than
        # holding a socket open past the close until its answer or timeout.
        for connection in list(self._busy):
            connection.abort()
        await asyncio.sleep(0)  # the transports close on the loop's next turn

    def _take_idle(self, origin: Origin) -> Http1Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        while idle:
            connection = idle.pop()  # the most recently used: the least likely closing
            self._unhook(connection)
            if connection.usable():
                if not idle:
                    del self._idle[origin]
                return connection
            connection.abort()
        del self._idle[origin]
        return None

    def _expire(self, origin: Origin, connection: Http1Connection) -> None:
        self._unpool(origin, connection)
        connection.abort()

    def _unpool(self, origin: Origin, connection: Http1Connection) -> None:
        """Take an idle connection out of the pool (it expired, or its server closed it)."""
        self._unhook(connection)
        idle = self._idle.get(origin)
        if idle is not None and connection in idle:
            idle.remove(connection)
            if not idle:
                del self._idle[origin]  # many origins, each called once, leave no entry

    def _unhook(self, connection: Http1Connection) -> None:
        """Detach a connection leaving the idle pool from its timer, callback and place
        in the oldest-first order."""
        connection.on_lost = None
        if connection.idle_timer is not None:
            connection.idle_timer.cancel()
            connection.idle_timer = None
        self._idle_order.pop(connection, None)
