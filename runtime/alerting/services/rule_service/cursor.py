"""Opaque keyset cursors for list endpoints.

A cursor names the last row of a page by ``(created_at, id)``; the next page is every
row strictly after it in that order, so rows inserted meanwhile never shift a page
(they sort after the rows already read). The token is base64url of a small text form
with the list's kind and a checksum, so a cursor edited by hand or used on another list
is refused (422) instead of silently paging from somewhere else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_VERSION = "c1"
_SEP = "|"


class InvalidCursor(ValueError):
    """The cursor was not issued by this service for this list."""


@dataclass(frozen=True, slots=True)
class Position:
    created_at: datetime
    id: str


def _micros(ts: datetime) -> int:
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _checksum(body: str) -> str:
    return hashlib.blake2s(body.encode(), digest_size=4).hexdigest()


def encode(kind: str, position: Position) -> str:
    body = _SEP.join((_VERSION, kind, str(_micros(position.created_at)), position.id))
    raw = f"{body}{_SEP}{_checksum(body)}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(kind: str, token: str) -> Position:
    """The position a cursor names; InvalidCursor for anything else."""
    if not token or len(token) > 512:
        raise InvalidCursor("malformed cursor")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor("malformed cursor") from None
    body, _, check = raw.rpartition(_SEP)
    parts = body.split(_SEP)
    if len(parts) != 4 or _checksum(body) != check:
        raise InvalidCursor("malformed cursor")
    version, cursor_kind, micros, ident = parts
    if version != _VERSION or cursor_kind != kind:
        raise InvalidCursor("cursor belongs to another list")
    try:
        created_at = _EPOCH + timedelta(microseconds=int(micros))
    except (ValueError, OverflowError):
        raise InvalidCursor("malformed cursor") from None
    if not ident:
        raise InvalidCursor("malformed cursor")
    return Position(created_at, ident)
