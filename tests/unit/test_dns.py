"""The outbound URL check with its DNS look-up: the policy applied to what resolved,
and a look-up that fails or hangs refused."""

from __future__ import annotations

import asyncio

import pytest

from alerting.adapters import dns
from alerting.adapters.dns import UnsafeUrl


def resolver_of(*addresses: str) -> dns.Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


async def failing_resolver(host: str, port: int) -> list[str]:
    raise OSError("Name or service not known")


async def test_a_host_is_refused_when_any_of_its_addresses_is_private() -> None:
    mixed = resolver_of("93.184.215.14", "10.0.0.7")
    with pytest.raises(UnsafeUrl, match=r"10\.0\.0\.7"):
        await dns.check_url("https://hooks.example.com/x", allow_private=False, resolver=mixed)


async def test_public_host_is_accepted() -> None:
    public = resolver_of("93.184.215.14", "2606:4700:4700::1111")
    await dns.check_url("https://hooks.example.com/x", allow_private=False, resolver=public)


async def test_the_resolver_is_asked_for_the_host_and_port_of_the_url() -> None:
    asked: list[tuple[str, int]] = []

    async def recording(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return ["93.184.215.14"]

    await dns.check_url("https://hooks.example.com/x", allow_private=False, resolver=recording)
    assert asked == [("hooks.example.com", 443)]


async def test_nothing_is_resolved_when_the_url_alone_decides() -> None:
    # Development (private URLs allowed) and literal addresses never reach DNS.
    await dns.check_url(
        "http://127.0.0.1:8090/hooks/x", allow_private=True, resolver=failing_resolver
    )
    await dns.check_url("https://93.184.215.14/x", allow_private=False, resolver=failing_resolver)
    with pytest.raises(UnsafeUrl, match="non-public"):
        await dns.check_url("http://[::1]:8080/", allow_private=False, resolver=failing_resolver)


async def test_unresolvable_host_is_refused() -> None:
    with pytest.raises(UnsafeUrl, match="does not resolve"):
        await dns.check_url("https://nope.invalid/", allow_private=False, resolver=failing_resolver)
    with pytest.raises(UnsafeUrl, match="does not resolve"):
        await dns.check_url("https://empty.example/", allow_private=False, resolver=resolver_of())


async def test_slow_resolution_is_refused() -> None:
    async def slow(host: str, port: int) -> list[str]:
        await asyncio.sleep(5)
        return ["93.184.215.14"]

    with pytest.raises(UnsafeUrl, match="does not resolve"):
        await dns.check_url(
            "https://slow.example/", allow_private=False, resolver=slow, timeout_s=0.05
        )


async def test_system_resolver_resolves_localhost_to_loopback() -> None:
    with pytest.raises(UnsafeUrl, match="non-public"):
        await dns.check_url("http://localhost:8080/", allow_private=False)
