"""API key format and verification, pure.

A key is ``alk_<prefix>_<secret>``. The prefix is stored in clear to find the row; the
whole token is stored only as a SHA-256 digest. A slow password hash buys nothing
here: the secret is 256 random bits, not something a person chose.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

TOKEN_PREFIX = "alk"  # noqa: S105 - a marker, not a secret
PREFIX_LENGTH = 12  # hex digits: ``generate`` issues 6 random bytes
_HEX = frozenset("0123456789abcdef")
# What an unknown prefix is verified against, so a wrong prefix costs the same digest
# and comparison as a wrong secret (the answer must not tell them apart, by its text
# or by its time). No token hashes to it: it is not a hex digest.
DUMMY_HASH = "not-a-digest:" + "0" * 51


@dataclass(frozen=True, slots=True)
class NewKey:
    prefix: str
    token: str  # shown once, never stored
    secret_hash: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def generate() -> NewKey:
    prefix = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(prefix, token, digest(token))


def prefix_of(token: str) -> str | None:
    """The lookup prefix of a well-formed token, else None.

    Only what ``generate`` issues (lower-case hex) is a prefix: the prefix of a failed
    attempt is counted and logged, so it must not be arbitrary caller text."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[2]:
        return None
    prefix = parts[1]
    if len(prefix) != PREFIX_LENGTH or not _HEX.issuperset(prefix):
        return None
    return prefix


def matches(token: str, secret_hash: str) -> bool:
    return hmac.compare_digest(digest(token), secret_hash)
