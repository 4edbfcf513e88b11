"""Outbound URL safety: syntax, and every resolved address must be public."""

from __future__ import annotations

import ipaddress

import pytest

from alerting.domain import urls
from alerting.domain.urls import UnsafeUrl


def resolver_of(*addresses: str):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


async def failing_resolver(host: str, port: int) -> list[str]:
    raise OSError("Name or service not known")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "169.254.1.1",
        "0.0.0.0", "100.64.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255", "::1", "::",
        "fd00:ec2::254", "fe80::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
        "2002:7f00:1::", "64:ff9b::a9fe:a9fe", "192.0.2.1",
    ],
)  # fmt: skip
def test_non_public_addresses_are_forbidden(address: str) -> None:
    assert urls.is_forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not urls.is_forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "", "ftp://example.com/", "example.com/x", "http://", "https://:80/",
        "http://user:pw@example.com/", "http://example.com:99999/", "http://exa mple.com/",
        "http://example.com/\n", "javascript:alert(1)", "http://" + "a" * 2050 + ".com/",
    ],
)  # fmt: skip
async def test_malformed_urls_are_refused_even_when_private_urls_are_allowed(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        await urls.check_url(url, allow_private=True, resolver=resolver_of("93.184.215.14"))


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/", "http://[::1]:8080/", "https://169.254.169.254/latest"]
)
async def test_literal_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl, match="non-public"):
        await urls.check_url(url, allow_private=False, resolver=failing_resolver)


async def test_a_host_is_refused_when_any_of_its_addresses_is_private() -> None:
    mixed = resolver_of("93.184.215.14", "10.0.0.7")
    with pytest.raises(UnsafeUrl, match=r"10\.0\.0\.7"):
        await urls.check_url("https://hooks.example.com/x", allow_private=False, resolver=mixed)


async def test_public_host_is_accepted() -> None:
    public = resolver_of("93.184.215.14", "2606:4700:4700::1111")
    await urls.check_url("https://hooks.example.com/x", allow_private=False, resolver=public)


async def test_unresolvable_host_is_refused() -> None:
    with pytest.raises(UnsafeUrl, match="does not resolve"):
        await urls.check_url(
            "https://nope.invalid/", allow_private=False, resolver=failing_resolver
        )
    with pytest.raises(UnsafeUrl, match="does not resolve"):
        await urls.check_url("https://empty.example/", allow_private=False, resolver=resolver_of())


async def test_slow_resolution_is_refused() -> None:
    import asyncio

    async def slow(host: str, port: int) -> list[str]:
        await asyncio.sleep(5)
        return ["93.184.215.14"]

    with pytest.raises(UnsafeUrl, match="does not resolve"):
        await urls.check_url(
            "https://slow.example/", allow_private=False, resolver=slow, timeout_s=0.05
        )


async def test_private_urls_allowed_in_development() -> None:
    await urls.check_url(
        "http://127.0.0.1:8090/hooks/x", allow_private=True, resolver=failing_resolver
    )


async def test_system_resolver_resolves_localhost_to_loopback() -> None:
    with pytest.raises(UnsafeUrl, match="non-public"):
        await urls.check_url("http://localhost:8080/", allow_private=False)
