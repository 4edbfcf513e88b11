"""A POST request as the bytes written to the connection: URL parts and header checks.

Header values come from templates and tenants' settings: a CR or LF in one would let
its author add headers or a second request of their own (request splitting), so such a
value is refused, never cleaned. The framing headers are ours alone: a caller's
Content-Length or Transfer-Encoding would let the body be read as two requests.
Other control characters (all but HTAB) are refused too: RFC 9110 does not allow them
in a field value, and receivers and proxies disagree on what they mean.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

# RFC 9110 token characters: anything else in a name is refused.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Set by the client from the URL and the body: a caller may not set them.
_OURS = frozenset(("host", "content-length", "transfer-encoding", "connection"))
# Characters left as they are in a request target; others are percent-encoded, as
# yarl (aiohttp's URLs) did: a raw space would end the request line, and ``"<>\^`{|}``
# are refused by strict receivers. ``%`` stays so an encoded URL is not encoded twice.
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"
_DEFAULT_PORTS = {"http": 80, "https": 443}


# Names already checked: a sender sends the same dozen names on every request.
_GOOD_NAMES: set[str] = set()
_GOOD_NAMES_MAX = 1024


class BadRequest(ValueError):
    """A URL or header the client refuses to send (the request never leaves)."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a connection goes: requests to one origin share the pooled connections."""

    scheme: str
    host: str
    port: int

    @property
    def tls(self) -> bool:
        return self.scheme == "https"


@dataclass(frozen=True, slots=True)
class Target:
    """A URL split into the connection's origin and the request line's parts."""

    origin: Origin
    host_header: str
    path: str


@functools.lru_cache(maxsize=4096)  # a sender posts to few URLs, many times each
def parse_target(url: str) -> Target:
    """Split an http(s) URL; raise BadRequest for anything else.

    The message never quotes the URL: a webhook's path often carries its secret.
    """
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise BadRequest("malformed URL") from None
    if parts.scheme not in _DEFAULT_PORTS or not host:
        raise BadRequest("not an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise BadRequest("credentials in the URL")
    try:
        ascii_host = host if host.isascii() else host.encode("idna").decode("ascii")
    except UnicodeError:
        raise BadRequest("host name cannot be encoded") from None
    default = _DEFAULT_PORTS[parts.scheme]
    shown = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    host_header = shown if port is None or port == default else f"{shown}:{port}"
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    # Always encoded: the cache makes it once per URL.
    path = quote(path, safe=_TARGET_SAFE)
    return Target(Origin(parts.scheme, ascii_host, port or default), host_header, path)


def request_bytes(target: Target, headers: dict[str, str], body: bytes) -> bytes:
    """The request's head and body as one buffer: one write per request."""
    head = (
        f"POST {target.path} HTTP/1.1\r\nHost: {target.host_header}\r\n"
        f"Content-Length: {len(body)}\r\n"
    )
    if not headers:
        return (head + "\r\n").encode() + body
    # Every value printable (``str.isprintable`` is False for each character
    # ``_BAD_VALUE`` refuses, and for a few more) and every name already checked: no
    # header needs its check. Otherwise each is checked in turn, as it comes.
    if not (_GOOD_NAMES.issuperset(headers) and "".join(headers.values()).isprintable()):
        for name, value in headers.items():
            check_header(name, value)
    lines = "\r\n".join(map(": ".join, headers.items()))
    return f"{head}{lines}\r\n\r\n".encode() + body


def check_header(name: str, value: str) -> None:
    """Raise BadRequest for a header that could change the request's framing."""
    if name not in _GOOD_NAMES:
        _check_name(name)
    if _BAD_VALUE.search(value) is not None:
        raise BadRequest(f"header {name} has a control character in its value")


def _check_name(name: str) -> None:
    if _TOKEN.fullmatch(name) is None:
        raise BadRequest("header name is not a token")
    if name.lower() in _OURS:
        raise BadRequest(f"header {name} is set by the client")
    if len(_GOOD_NAMES) < _GOOD_NAMES_MAX:
        _GOOD_NAMES.add(name)
