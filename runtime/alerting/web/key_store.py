"""Where API keys are looked up: a protocol, so the web layer does not care how.

The Postgres implementation is ``alerting.adapters.api_key_store``. A store that keeps
answering while Postgres is down (``alerting.web.key_cache``: a bounded, expiring cache
of verified keys) wraps another store behind this same protocol; the authenticator does
not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol
from uuid import UUID

from alerting.domain.label_mapping import LabelMapping

KeyScope = Literal["client", "ingest"]


@dataclass(frozen=True, slots=True)
class StoredKey:
    """An API key as stored: the token itself never is, only its digest."""

    key_id: UUID
    secret_hash: str
    scope: KeyScope
    client_id: str | None
    revoked: bool
    label_mapping: LabelMapping | None = None  # ingest keys only; cached with the key


class KeyStore(Protocol):
    async def find(self, prefix: str) -> StoredKey | None:
        """The key with this lookup prefix, revoked or not; None when there is none.

        Raises whatever the store raises when it cannot answer: each API decides what
        an unverifiable key means for its callers.
        """
        ...

    async def touch(self, key_id: UUID) -> None:
        """Note that the key was just used (``last_used_at``); the store may coalesce."""
        ...
