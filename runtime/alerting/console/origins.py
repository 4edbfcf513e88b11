"""Parsing of the console's cross-origin settings (pure: config.py calls these).

Behind the AWS gateway every API shares one origin, so the console calls them with
relative URLs and nothing here is set. Under ``make dev`` and in the tests each API has
its own port: the console is told where ingest and metrics are, and those two APIs allow
the console's origin (CORS). Bearer tokens, not cookies, authenticate, so allowing an
origin lets its pages call the API with a token they already hold and nothing more.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# A host as it may appear in an origin: a DNS name or IPv4 address, or a bracketed IPv6
# address. Anything else (a space, ";", ",") could not be a browser's origin, and in the
# console's Content-Security-Policy it would end the connect-src list and start another.
_NETLOC = re.compile(
    r"(?P<host>[a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(:(?P<port>[0-9]{1,5}))?"
)
_DEFAULT_PORT = {"http": 80, "https": 443}


def api_base(raw: str) -> str:
    """An API's base URL as the browser reaches it: ``http(s)://host[:port]``, or "" for
    the console's own origin. A path is refused: the API paths are absolute."""
    raw = raw.strip().rstrip("/")
    if not raw:
        return ""
    return _origin(raw)


def origins(raw: str) -> tuple[str, ...]:
    """``origin,origin``: the browser origins allowed to call an API cross-origin."""
    return tuple(dict.fromkeys(_origin(item.strip()) for item in raw.split(",") if item.strip()))


def _origin(raw: str) -> str:
    """``scheme://host[:port]`` exactly as a browser sends it in ``Origin``: lower case,
    and without the scheme's default port (``http://h:80`` is sent as ``http://h``, so an
    allowed ``http://h:80`` would never match)."""
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{raw!r} must be an http(s) origin such as http://127.0.0.1:8081")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(f"{raw!r} must be an origin only (scheme, host, port; no path)")
    netloc = _NETLOC.fullmatch(parts.netloc.lower())
    port = int(netloc["port"]) if netloc and netloc["port"] else None
    if netloc is None or (port is not None and not 0 < port < 65536):
        raise ValueError(f"{raw!r}: {parts.netloc!r} is not a host and optional port")
    if port is None or port == _DEFAULT_PORT[parts.scheme]:
        return f"{parts.scheme}://{netloc['host']}"
    return f"{parts.scheme}://{netloc['host']}:{port}"
