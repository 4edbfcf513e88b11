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

import time
from typing import Any
from uuid import UUID

import asyncpg

from alerting.adapters import postgres
from alerting.domain.label_mapping import LabelMapping
from alerting.web.key_store import StoredKey

TOUCH_INTERVAL_S = 60.0
MAX_TOUCHED = 10_000  # bounded memory however many keys there are
UNAVAILABLE = postgres.UNAVAILABLE  # what a key cache may answer through


class PostgresKeyStore:
    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self._pool = pool
        self._touched: dict[UUID, float] = {}

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
            LabelMapping.from_stored(row["label_mapping"]),
        )

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
