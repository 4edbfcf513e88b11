"""Outbound URL safety policy: refuse http(s) targets whose addresses are not public.

Shared by the rule-service (checked when an endpoint is saved) and the sender (checked
again before each delivery, because DNS answers change). Without this check a tenant
could point a webhook at the cloud metadata service or at an internal admin port and
have the platform make the request for them (SSRF).

Pure: the policy judges a URL and the addresses its host resolved to; resolving them is
I/O and lives in ``alerting.adapters.dns``, which composes the two into ``check_url``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
# Cloud metadata services: link-local or private anyway, named here so that intent is clear.
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeUrl(ValueError):
    """The URL is malformed or points somewhere the platform must not call."""


def parse_http_url(url: str) -> SplitResult:
    """Check the syntax of an http(s) URL; return its parts."""
    if not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"must be 1 to {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise UnsafeUrl("must not contain whitespace or control characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("must be an http or https URL")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:  # a port that is not a number or out of range
        raise UnsafeUrl(f"has an invalid port: {exc}") from None
    if not host:
        raise UnsafeUrl("must have a host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("must not carry credentials in the URL")
    if port == 0:
        raise UnsafeUrl("has an invalid port")
    return parts


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address tunnels to, if any (mapped, 6to4, NAT64, Teredo)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_forbidden_address(ip: IPAddress) -> bool:
    """True for loopback, private, link-local, reserved, multicast, metadata, and the like."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None and is_forbidden_address(inner):
            return True
    return (
        ip in METADATA_ADDRESSES
        or ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or not ip.is_global
    )


def forbidden_among(addresses: Iterable[str]) -> str | None:
    """The first forbidden address of a resolution result, else None."""
    for raw in addresses:
        try:
            ip = ipaddress.ip_address(raw.split("%", 1)[0])  # drop an IPv6 zone id
        except ValueError:
            return raw
        if is_forbidden_address(ip):
            return raw
    return None


def host_to_resolve(url: str, *, allow_private: bool) -> tuple[str, int] | None:
    """Check everything that can be checked without DNS; return the (host, port) whose
    resolution still decides, or None when the URL is already acceptable.

    Raises UnsafeUrl for a malformed URL, or a literal address that is not public. With
    ``allow_private`` (development) only the syntax is checked.
    """
    parts = parse_http_url(url)
    if allow_private:
        return None
    host = parts.hostname or ""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if is_forbidden_address(literal):
            raise UnsafeUrl(f"points to a non-public address ({literal})")
        return None
    return host, parts.port or (443 if parts.scheme == "https" else 80)


def check_addresses(host: str, addresses: Sequence[str]) -> None:
    """Raise UnsafeUrl unless ``host`` resolved, and only to public addresses.

    Every address must be public: a host with one public and one private record could
    otherwise be steered to the private one at connect time.
    """
    if not addresses:
        raise UnsafeUrl(f"host {host!r} does not resolve")
    bad = forbidden_among(addresses)
    if bad is not None:
        raise UnsafeUrl(f"host {host!r} resolves to a non-public address ({bad})")


def unresolvable(host: str, error: BaseException) -> UnsafeUrl:
    """The refusal for a host whose resolution failed or timed out."""
    return UnsafeUrl(f"host {host!r} does not resolve ({type(error).__name__})")
