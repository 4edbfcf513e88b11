"""The format of ``ALERTING_SECRET_KEYS``, the keyring that seals stored secrets
(``alerting.sealed``): parsed here with the standard library only, because the settings
(``alerting.config``) and the Pulumi stack's config check both read it and neither may
pull in the cryptography package.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field

KEY_BYTES = 32  # AES-256
# The id is written into every sealed value (``v1:<id>:...``): no ``:`` or ``,`` in it.
KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
FORMAT = "<key id>:<base64 of 32 bytes>[,<key id>:<key>...]"


@dataclass(frozen=True)
class SecretKey:
    """One key of the keyring: the id stored with each value it seals, and the key."""

    key_id: str
    key: bytes = field(repr=False)


def new_entry(key_id: str) -> str:
    """A keyring entry ``<key id>:<base64 key>`` holding a fresh random key: what
    `alerting secrets new-key`, `make dev` and the bench put in ALERTING_SECRET_KEYS."""
    if not KEY_ID.fullmatch(key_id):
        raise ValueError("the key id must be 1-32 letters, digits, '.', '_' or '-'")
    return f"{key_id}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"


def parse_secret_keys(raw: str) -> tuple[SecretKey, ...] | None:
    """The keys in order (the first seals, all open); None when ``raw`` is empty.

    ``ValueError`` names the item and its key id, never a key's text: the message is
    printed at start-up and by `pulumi preview`.
    """
    if not raw.strip():
        return None
    keys: list[SecretKey] = []
    for number, item in enumerate(raw.split(","), start=1):
        key_id, sep, text = item.strip().partition(":")
        if not sep or not text.strip():
            raise ValueError(f"item {number} must be <key id>:<base64 key>")
        if not KEY_ID.fullmatch(key_id):
            # Not echoed: a malformed item may be a key pasted in the wrong place.
            raise ValueError(
                f"item {number}: the key id must be 1-32 letters, digits, '.', '_' or '-'"
            )
        try:
            # Either base64 alphabet: `openssl rand -base64 32` or a URL-safe generator.
            key = base64.b64decode(text.strip().replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"key {key_id!r} is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise ValueError(
                f"key {key_id!r} decodes to {len(key)} bytes; AES-256 needs {KEY_BYTES}"
                " (`alerting secrets new-key` makes one)"
            )
        if any(k.key_id == key_id for k in keys):
            raise ValueError(f"lists key id {key_id!r} twice")
        keys.append(SecretKey(key_id, key))
    return tuple(keys)
