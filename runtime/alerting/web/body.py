"""Bounded reading of a JSON request body.

The size is checked against Content-Length before anything is read and again while
streaming (a chunked body declares no length), so a client cannot make a service hold
more than ``max_bytes`` of one request in memory.
"""

from __future__ import annotations

from starlette.requests import Request

from alerting.web.problems import ApiError

MAX_BODY_BYTES = 64 * 1024


def _too_large(max_bytes: int) -> ApiError:
    return ApiError(413, f"request body is larger than {max_bytes} bytes")


async def read_body(request: Request, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refusing (413) more than ``max_bytes`` before reading it all,
    and (415) anything but JSON; a missing Content-Type is taken to mean JSON."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
        raise _too_large(max_bytes)
    content_type = request.headers.get("content-type", "application/json")
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise ApiError(415, "request body must be application/json")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)
