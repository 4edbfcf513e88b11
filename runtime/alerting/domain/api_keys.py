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
    """The lookup prefix of a well-formed token, else None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(parts[1]) != 12 or not parts[2]:
        return None
    return parts[1]


def matches(token: str, secret_hash: str) -> bool:
    return hmac.compare_digest(digest(token), secret_hash)
