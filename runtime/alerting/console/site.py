"""Serving the console: ``/ui`` and its files, with the headers that confine them.

The files are read once at start and answered from memory (a few dozen small files), so
no request path ever reaches the file system. Any ``/ui/...`` path that is not a file
answers the page itself: the console routes on the URL (shareable links to a view and
its filters), and a reload of such a link must load the app.

Every answer carries a Content-Security-Policy that allows scripts and styles from this
origin only (no inline script, no eval), network calls to this origin and the configured
API origins only, and no framing; alert text that slipped through as markup could still
neither run nor load anything.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

STATIC = Path(__file__).parent / "static"
PREFIX = "/ui"
# Shipped files by suffix; anything else in the folder (type declarations) is not served.
SERVED = {".html", ".js", ".mjs", ".css", ".svg", ".png", ".json", ".txt"}


@dataclass(frozen=True)
class ConsoleConfig:
    """What the browser needs to find the APIs ("" : this origin)."""

    ingest_url: str = ""
    metrics_url: str = ""

    def as_json(self) -> bytes:
        return json.dumps({"ingest_url": self.ingest_url, "metrics_url": self.metrics_url}).encode()


@dataclass(frozen=True)
class _File:
    body: bytes
    media_type: str
    etag: str


def security_headers(config: ConsoleConfig) -> dict[str, str]:
    apis = sorted({u for u in (config.ingest_url, config.metrics_url) if u})
    connect = " ".join(["'self'", *apis])
    policy = "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {connect}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        # Revalidated on every load (ETag): a deploy never leaves a browser on old files.
        "Cache-Control": "no-cache",
    }


def _load(root: Path, config: ConsoleConfig) -> dict[str, _File]:
    files: dict[str, _File] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in SERVED:
            files[path.relative_to(root).as_posix()] = _file(path.read_bytes(), path.name)
    files["config.json"] = _file(config.as_json(), "config.json")
    return files


def _file(body: bytes, name: str) -> _File:
    media_type = "text/javascript" if name.endswith((".js", ".mjs")) else None
    media_type = media_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type == "application/json":
        media_type += "; charset=utf-8"
    return _File(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def routes(config: ConsoleConfig, root: Path = STATIC) -> list[BaseRoute]:
    """``/ui`` and ``/ui/{path}``: a file of ``root``, else the page (client routing)."""
    files = _load(root, config)
    headers = security_headers(config)
    page = files["index.html"]

    async def serve(request: Request) -> Response:
        path = request.path_params.get("path", "")
        found = files.get(path)
        if found is None:
            # A missing script or style is a 404 (a broken deploy shows as one); any
            # other path is a view of the app.
            if Path(path).suffix in SERVED and path != "index.html":
                return Response("not found", 404, headers=headers, media_type="text/plain")
            found = page
        if _matches(request.headers.get("if-none-match", ""), found.etag):
            return Response(status_code=304, headers={**headers, "ETag": found.etag})
        tagged = {**headers, "ETag": found.etag}
        return Response(found.body, media_type=found.media_type, headers=tagged)

    return [
        Route(PREFIX, serve, methods=["GET", "HEAD"]),
        Route(PREFIX + "/{path:path}", serve, methods=["GET", "HEAD"]),
    ]


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 If-None-Match: ``*`` or a list of tags, weak ones (``W/"..."``) compared
    weakly; a browser or proxy may send any of these forms."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags
