"""Resolving a URL's host, and the outbound URL check that needs it.

The policy (which URLs and addresses are acceptable) is pure and lives in
``alerting.domain.urls``; this module adds the one piece of I/O it needs, a DNS look-up
with a deadline, behind a ``Resolver`` so tests and callers can supply their own.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from alerting.domain.urls import UnsafeUrl, check_addresses, host_to_resolve, unresolvable

__all__ = ["RESOLVE_TIMEOUT_S", "Resolver", "UnsafeUrl", "check_url", "system_resolver"]

# host, port -> the addresses it resolves to (as strings); raise OSError when it does not.
Resolver = Callable[[str, int], Awaitable[list[str]]]

RESOLVE_TIMEOUT_S = 3.0


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with the system resolver (getaddrinfo runs in the loop's thread pool)."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(info[4][0]) for info in infos]


async def check_url(
    url: str,
    *,
    allow_private: bool,
    resolver: Resolver = system_resolver,
    timeout_s: float = RESOLVE_TIMEOUT_S,
) -> None:
    """Raise UnsafeUrl unless ``url`` is an http(s) URL whose host resolves only to
    public addresses. With ``allow_private`` (development) only the syntax is checked.

    ``UnsafeUrl`` is exported here too, so a caller imports the check and the error it
    raises from one place.
    """
    target = host_to_resolve(url, allow_private=allow_private)
    if target is None:
        return
    host, port = target
    try:
        addresses = await asyncio.wait_for(resolver(host, port), timeout_s)
    except (OSError, UnicodeError, TimeoutError) as exc:
        raise unresolvable(host, exc) from None
    check_addresses(host, addresses)
