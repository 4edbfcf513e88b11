"""Sealed secrets: the credentials the platform stores (webhook signing secrets, and the
keys of later channels) encrypted at rest with AES-256-GCM under a configured keyring.

A database dump, a replica or a backup then holds no usable credential: reading one
needs ``ALERTING_SECRET_KEYS`` too, which only the processes that use the secrets get
(rule-service writes them, the sender reads them).

The stored form says how to open it, so keys can rotate while rows of every age exist:

    v1:<key id>:<base64url(nonce | ciphertext | tag)>

The associated data binds a sealed value to where it is stored (``SealedColumn.binding``:
table, column and row id), so a ciphertext copied into another row, or another column,
does not open: a tenant who can write one endpoint's secret cannot make the sender sign
with another endpoint's secret.

A stored value without the ``v1:`` prefix is a row written before sealing existed
(plain text). It still opens, as itself, until ``alerting secrets rotate`` seals it; the
secrets issued so far (``secrets.token_urlsafe``, hex, and Standard Webhooks'
``whsec_`` + base64) never contain ``:``, so the two forms cannot be confused.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from alerting.config import Settings
from alerting.secret_keys import SecretKey

VERSION: Final = "v1"
PREFIX: Final = f"{VERSION}:"
NONCE_BYTES: Final = 12  # GCM's standard nonce, random per seal: 2^32 seals per key are safe
TAG_BYTES: Final = 16


class SealError(Exception):
    """A stored value cannot be opened: its key is not in the keyring, or it was
    altered, or it belongs to another row. The message names the key id, never a key
    or a secret, so it may be logged."""


@dataclass(frozen=True, slots=True)
class SealedColumn:
    """A column holding sealed values, and the column of its rows' ids: what the writer
    binds each value to and what ``alerting secrets rotate`` walks."""

    table: str
    id_column: str
    column: str
    id_type: str = "uuid"  # the id column's SQL type

    def binding(self, row_id: object) -> str:
        return f"{self.table}.{self.column}:{row_id}"


ENDPOINT_SIGNING_SECRET: Final = SealedColumn("endpoints", "endpoint_id", "signing_secret")
# The secret a rotation replaced, still signed with until it expires (migration 0007).
ENDPOINT_PREVIOUS_SECRET: Final = SealedColumn(
    "endpoints", "endpoint_id", "previous_signing_secret"
)
# Every sealed column, for the rotation command. A channel storing another credential
# adds its column here (and seals through ``Keyring.seal`` with its binding).
SEALED_COLUMNS: Final = (ENDPOINT_SIGNING_SECRET, ENDPOINT_PREVIOUS_SECRET)


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def key_id_of(stored: str) -> str | None:
    """The id of the key a value is sealed with; None for a plain-text (legacy) value."""
    if not is_sealed(stored):
        return None
    return stored[len(PREFIX) :].partition(":")[0]


class Keyring:
    """The configured keys: the first seals, every one opens.

    Rotation is two list edits (docs/deployment.md): add the new key after the old one
    and roll the services, so all of them open it before any seals with it; then move it
    first and roll again; ``alerting secrets rotate`` re-seals every stored value with
    it, after which the old key can be dropped.
    """

    def __init__(self, keys: tuple[SecretKey, ...]) -> None:
        if not keys:
            raise ValueError("a keyring needs at least one key")
        self._current = keys[0].key_id
        self._ciphers = {k.key_id: AESGCM(k.key) for k in keys}

    @classmethod
    def from_settings(cls, settings: Settings) -> Keyring:
        """The keyring of ``ALERTING_SECRET_KEYS``; ``ConfigError`` when it is unset."""
        return _keyring(settings.require_secret_keys())

    @property
    def current(self) -> str:
        """The id of the key new values are sealed with."""
        return self._current

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._ciphers)

    def seal(self, plaintext: str, binding: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._current].encrypt(
            nonce, plaintext.encode(), _aad(self._current, binding)
        )
        return f"{PREFIX}{self._current}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, stored: str, binding: str) -> str:
        """The secret in ``stored``; a legacy plain-text value is returned as it is."""
        if not is_sealed(stored):
            return stored
        key_id, sep, payload = stored[len(PREFIX) :].partition(":")
        cipher = self._ciphers.get(key_id)
        if not sep or cipher is None:
            raise SealError(
                f"sealed with key id {key_id!r}, which is not in ALERTING_SECRET_KEYS"
                f" (it holds {', '.join(self._ciphers)})"
            )
        try:
            raw = base64.b64decode(payload, altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise SealError(f"sealed value under key id {key_id!r} is not base64") from None
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise SealError(f"sealed value under key id {key_id!r} is truncated")
        try:
            plain = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(key_id, binding))
        except InvalidTag:
            raise SealError(
                f"sealed value under key id {key_id!r} does not open: altered, or"
                " copied from another row"
            ) from None
        return plain.decode()

    def is_current(self, stored: str) -> bool:
        """Whether ``stored`` is already sealed with the current key (rotation skips it)."""
        return key_id_of(stored) == self._current


@functools.lru_cache(maxsize=8)
def _keyring(keys: tuple[SecretKey, ...]) -> Keyring:
    # One per configuration, built on first use: handlers ask per request.
    return Keyring(keys)


def _aad(key_id: str, binding: str) -> bytes:
    # The key id is in the associated data too, so the header cannot be edited to name
    # another key of the ring even when two ids (by mistake) carry the same key.
    return f"{PREFIX}{key_id}:{binding}".encode()
