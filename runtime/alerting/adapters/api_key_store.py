"""The API keys in Postgres, as the web layer's ``KeyStore``.

One indexed lookup by key prefix per call, so a revocation takes effect at once where
every request asks (rule-service). Ingest puts ``CachedKeyStore``
(``alerting.web.key_cache``) in front: it asks again after a refresh interval and
answers from what it has while Postgres is ``UNAVAILABLE``. ``last_used_at`` is written
at most once a minute per key and process, so a busy client does not turn every read
into a write. Issuing, listing and revoking
keys is rule-service's (``rule_service.repo.api_keys``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg

from alerting.adapters import postgres
from alerting.domain.label_mapping import LabelMapping
from alerting.web.key_store import StoredKey

log = logging.getLogger(__name__)
TOUCH_INTERVAL_S = 60.0
MAX_TOUCHED = 10_000  # bounded memory however many keys there are
UNAVAILABLE = postgres.UNAVAILABLE  # what a key cache may answer through


class PostgresKeyStore:
    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self._pool = pool
        self._touched: dict[UUID, float] = {}
        self._bad_mappings: set[UUID] = set()  # logged once per key and process

    async def find(self, prefix: str) -> StoredKey | None:
        row = await self._pool.fetchrow(
            "SELECT key_id, secret_hash, scope, client_id, revoked_at, label_mapping FROM api_keys"
            " WHERE prefix = $1",
            prefix,
        )
        if row is None:
            return None
        return StoredKey(
            row["key_id"],
            row["secret_hash"],
            row["scope"],
            row["client_id"],
            row["revoked_at"] is not None,
            self._mapping(row["key_id"], row["label_mapping"]),
        )

    def _mapping(self, key_id: UUID, stored: Mapping[str, Any] | None) -> LabelMapping | None:
        """The key's mapping; one the API would not have stored (edited by hand, or by an
        older version) means the defaults, logged once, rather than a 500 for every
        request the key makes."""
        try:
            return LabelMapping.from_stored(stored)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            if key_id not in self._bad_mappings and len(self._bad_mappings) < MAX_TOUCHED:
                self._bad_mappings.add(key_id)
                log.error(
                    "api key %s: stored label_mapping is malformed (%s: %s); using the"
                    " defaults until it is replaced (PATCH /api/v1/api-keys/%s)",
                    key_id,
                    type(exc).__name__,
                    exc,
                    key_id,
                )
            return None

    async def touch(self, key_id: UUID) -> None:
        now = time.monotonic()
        last = self._touched.get(key_id)
        if last is not None and now - last < TOUCH_INTERVAL_S:
            return
        if len(self._touched) > MAX_TOUCHED:
            self._touched.clear()
        self._touched[key_id] = now
        await self._pool.execute(
            "UPDATE api_keys SET last_used_at = now() WHERE key_id = $1"
            " AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
            key_id,
        )
