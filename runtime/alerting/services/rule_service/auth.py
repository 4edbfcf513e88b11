"""Who is calling: the admin token, a client-scoped key or an ingest-scoped key.

One indexed lookup by key prefix per request (revocation takes effect at once, on
every instance). ``last_used_at`` is written at most once a minute per key and
process, so a busy client does not turn every read into a write.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import asyncpg

from alerting.domain import api_keys
from alerting.services.rule_service.problems import ApiError, unauthorized
from alerting.services.rule_service.repo import api_keys as key_repo

Kind = Literal["admin", "client", "ingest"]
TOUCH_INTERVAL_S = 60.0
MAX_TOKEN_LENGTH = 512


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Kind
    client_id: str | None = None
    key_id: UUID | None = None

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"

    @property
    def owner(self) -> str | None:
        """The client this caller is confined to; None for admins (no confinement)."""
        return self.client_id if self.kind == "client" else None


ADMIN = Principal("admin")


class Authenticator:
    def __init__(self, pool: asyncpg.Pool[Any], admin_token: str) -> None:
        self._pool = pool
        self._admin = admin_token.encode()
        self._touched: dict[UUID, float] = {}

    async def authenticate(self, header: str | None) -> Principal:
        token = _bearer(header)
        if hmac.compare_digest(token.encode(), self._admin):
            return ADMIN
        prefix = api_keys.prefix_of(token)
        if prefix is None:
            raise unauthorized("invalid token")
        row = await key_repo.find_by_prefix(self._pool, prefix)
        if row is None or row["revoked_at"] is not None:
            raise unauthorized("invalid or revoked token")
        if not api_keys.matches(token, row["secret_hash"]):
            raise unauthorized("invalid token")
        await self._touch(row["key_id"])
        return Principal(row["scope"], row["client_id"], row["key_id"])

    async def _touch(self, key_id: UUID) -> None:
        now = time.monotonic()
        last = self._touched.get(key_id)
        if last is not None and now - last < TOUCH_INTERVAL_S:
            return
        if len(self._touched) > 10_000:  # bounded memory however many keys there are
            self._touched.clear()
        self._touched[key_id] = now
        await key_repo.touch(self._pool, key_id)


def _bearer(header: str | None) -> str:
    if not header:
        raise unauthorized("missing Authorization: Bearer <token>")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthorized("Authorization must be: Bearer <token>")
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise unauthorized("invalid token")
    return token


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise ApiError(403, "this operation needs the admin token")
