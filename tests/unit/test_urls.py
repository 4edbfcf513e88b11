"""Outbound URL safety policy: syntax, and every resolved address must be public.

Pure: no resolver here. The policy is handed the addresses a host resolved to; the
look-up itself and its failures are ``test_dns.py``'s.
"""

from __future__ import annotations

import ipaddress

import pytest

from alerting.domain import urls
from alerting.domain.urls import UnsafeUrl


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
def test_malformed_urls_are_refused_even_when_private_urls_are_allowed(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        urls.host_to_resolve(url, allow_private=True)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/", "http://[::1]:8080/", "https://169.254.169.254/latest"]
)
def test_literal_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl, match="non-public"):
        urls.host_to_resolve(url, allow_private=False)


def test_a_literal_public_address_needs_no_resolution() -> None:
    assert urls.host_to_resolve("https://93.184.215.14/x", allow_private=False) is None


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("http://hooks.example.com/x", ("hooks.example.com", 80)),
        ("https://hooks.example.com/x", ("hooks.example.com", 443)),
        ("https://hooks.example.com:8443/x", ("hooks.example.com", 8443)),
    ],
)
def test_a_host_name_is_resolved_on_the_port_the_request_will_use(
    url: str, target: tuple[str, int]
) -> None:
    assert urls.host_to_resolve(url, allow_private=False) == target


def test_a_host_is_refused_when_any_of_its_addresses_is_private() -> None:
    with pytest.raises(UnsafeUrl, match=r"10\.0\.0\.7"):
        urls.check_addresses("hooks.example.com", ["93.184.215.14", "10.0.0.7"])


def test_public_host_is_accepted() -> None:
    urls.check_addresses("hooks.example.com", ["93.184.215.14", "2606:4700:4700::1111"])


def test_a_host_that_resolved_to_nothing_is_refused() -> None:
    with pytest.raises(UnsafeUrl, match="does not resolve"):
        urls.check_addresses("empty.example", [])


def test_private_urls_allowed_in_development() -> None:
    assert urls.host_to_resolve("http://127.0.0.1:8090/hooks/x", allow_private=True) is None
