"""Opaque keyset cursors for list endpoints, authenticated with a keyed MAC.

A cursor names the last row of a page by ``(created_at, id)``; the next page is every
row strictly after it in that order, so rows inserted meanwhile never shift a page
(they sort after the rows already read). The token is base64url of a small text form
with the list's kind and an HMAC-SHA256 tag under the service's cursor key.

Why a MAC and not a checksum: the format is public, so anyone can compute a checksum
and page from a position of their choosing. Under a key only the service holds, a
cursor a client forges or edits is refused (422) instead. The position itself is not
hidden (it names a row the caller has just been shown); only its origin is vouched for.

The key is ``ALERTING_CURSOR_KEY`` or, when that is unset, derived from the admin token
(``HMAC-SHA256(admin token, KEY_LABEL)``), so a setup that predates the setting keeps
working and never needs another secret. Changing the key (or, when derived, the admin
token) invalidates the cursors in flight: a client then gets a 422 saying to start its
listing again, never a wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from alerting.config import Settings

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# c1 had an unkeyed checksum; its cursors fail the MAC (a 422), which is the point.
_VERSION = "c2"
_SEP = "|"
# 128 bits of HMAC-SHA256: far beyond guessing within any request budget, and a short
# token (NIST SP 800-107 allows truncation to this length).
_TAG_BYTES = 16
MAX_TOKEN_LENGTH = 512
# Domain separation: a key derived from the admin token for this purpose is useless
# for anything else, and the admin token cannot be recovered from it.
KEY_LABEL = b"alerting rule-service list cursor key v1"

MALFORMED = "malformed cursor: pass next_cursor from the previous page unchanged"
NOT_OURS = (
    "cursor was altered or not issued by this service (or its cursor key changed):"
    " list again without a cursor"
)
ANOTHER_LIST = "cursor belongs to another list"


class InvalidCursor(ValueError):
    """The cursor was not issued by this service for this list."""


@dataclass(frozen=True, slots=True)
class Position:
    created_at: datetime
    id: str


def _micros(ts: datetime) -> int:
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def derived_key(admin_token: str) -> bytes:
    return hmac.new(admin_token.encode(), KEY_LABEL, hashlib.sha256).digest()


class Cursors:
    """Issues and checks one service's cursors, under one key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a cursor key needs at least 16 bytes")
        self._key = key

    @classmethod
    def for_settings(cls, settings: Settings) -> Cursors:
        """ALERTING_CURSOR_KEY, else a key derived from the admin token."""
        if settings.cursor_key:
            return cls(settings.cursor_key.encode())
        return cls(derived_key(settings.require_admin_token()))

    def _tag(self, body: str) -> str:
        mac = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:_TAG_BYTES]
        return mac.hex()

    def encode(self, kind: str, position: Position) -> str:
        body = _SEP.join((_VERSION, kind, str(_micros(position.created_at)), position.id))
        raw = f"{body}{_SEP}{self._tag(body)}".encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def decode(self, kind: str, token: str) -> Position:
        """The position a cursor names; InvalidCursor for anything else.

        The tag is checked (in constant time) before anything in the body is believed.
        """
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidCursor(MALFORMED)
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidCursor(MALFORMED) from None
        body, sep, tag = raw.rpartition(_SEP)
        if not sep:
            raise InvalidCursor(MALFORMED)
        if not hmac.compare_digest(self._tag(body).encode(), tag.encode()):
            raise InvalidCursor(NOT_OURS)
        # Authentic from here on: the id is the last field, so it may hold the separator.
        parts = body.split(_SEP, 3)
        if len(parts) != 4 or parts[0] != _VERSION:
            raise InvalidCursor(MALFORMED)
        _, cursor_kind, micros, ident = parts
        if cursor_kind != kind:
            raise InvalidCursor(ANOTHER_LIST)
        try:
            created_at = _EPOCH + timedelta(microseconds=int(micros))
        except (ValueError, OverflowError):
            raise InvalidCursor(MALFORMED) from None
        if not ident:
            raise InvalidCursor(MALFORMED)
        return Position(created_at, ident)
