"""Parsing of the console's cross-origin settings (pure: config.py calls these).

Behind the AWS gateway every API shares one origin, so the console calls them with
relative URLs and nothing here is set. Under ``make dev`` and in the tests each API has
its own port: the console is told where ingest and metrics are, and those two APIs allow
the console's origin (CORS). Bearer tokens, not cookies, authenticate, so allowing an
origin lets its pages call the API with a token they already hold and nothing more.
"""

from __future__ import annotations

from urllib.parse import urlsplit


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
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{raw!r} must be an http(s) origin such as http://127.0.0.1:8081")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{raw!r} must be an origin only (scheme, host, port; no path)")
    return f"{parts.scheme}://{parts.netloc.lower()}"
