"""Standard Webhooks v1 signing (https://www.standardwebhooks.com): the secrets and the
``webhook-signature`` header a receiver verifies with any of the specification's
libraries (Python and npm ``standardwebhooks``, Svix's).

Pure: no clock, no I/O. docs/integrations.md ("Webhooks") is the receiver's contract.

Secrets are ``whsec_`` + base64 of 32 random bytes, and the HMAC key is those decoded
bytes. A secret issued before this scheme (no ``whsec_`` prefix: 43 URL-safe characters
from ``secrets.token_urlsafe``) keeps working, keyed by its UTF-8 bytes: for a receiver
that is the standard secret ``whsec_`` + base64(the old secret's bytes), and
``Webhook(old.encode())`` in Python. Rotating it (``POST /endpoints/{id}/rotate-secret``)
issues a standard one.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import secrets
from collections.abc import Iterable
from typing import Final

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
SECRET_BYTES: Final = 32  # the specification allows 24 to 64
SIGNATURE_VERSION: Final = "v1"  # HMAC-SHA256; "v1a" would be ed25519


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


# Small on purpose: a hit saves only a base64 decode (~0.3 us), worth it for the few
# secrets a batch signs with over and over, but each entry is a plaintext secret held by
# this process (the API's too), rotated and deleted ones included until newer ones push
# them out. The sender's store, not this, is the cache sized for every endpoint.
@functools.lru_cache(maxsize=64)
def signing_key(secret: str) -> bytes:
    """The HMAC key of a stored secret: a standard one's decoded bytes, a legacy one's
    UTF-8 bytes. ``ValueError`` for a ``whsec_`` secret that is not base64: only this
    module issues such secrets, so it would be a corrupted row, never to be signed with
    as text (the receiver could not verify it either)."""
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode()
    try:
        return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error:
        raise ValueError("a whsec_ signing secret is not valid base64") from None


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(key, "<msg_id>.<timestamp>.<body>")>``: the id and the
    timestamp are signed so that a receiver can reject a replay (an old timestamp) or
    a signature lifted onto another message."""
    mac = hmac.digest(key, f"{msg_id}.{timestamp}.".encode() + body, "sha256")  # one-shot, in C
    return f"{SIGNATURE_VERSION},{base64.b64encode(mac).decode()}"


def signature_header(
    valid_secrets: Iterable[str | None], msg_id: str, timestamp: int, body: bytes
) -> str | None:
    """One space-separated signature per valid secret (the current one first, then a
    rotated-out one in its grace period), so a receiver holding either verifies; None
    when there is no secret to sign with."""
    keys = dict.fromkeys(signing_key(s) for s in valid_secrets if s)  # in order, once each
    if not keys:
        return None
    return " ".join(signature(k, msg_id, timestamp, body) for k in keys)
