"""Bearer tokens: the admin token or an API key, from the Authorization header.

This is the one place in the runtime that reads an Authorization header (a test keeps
it so): every API authenticates the same way, with the same messages.
"""

from __future__ import annotations

import hmac

from starlette.requests import HTTPConnection

from alerting.domain import api_keys
from alerting.web.auth import ADMIN_PRINCIPAL, Authenticator, Principal
from alerting.web.key_store import KeyStore
from alerting.web.problems import unauthorized

MAX_TOKEN_LENGTH = 512


class BearerTokenBackend:
    """The admin token (compared in constant time, never stored anywhere else) or an
    API key looked up by its prefix and verified against its digest."""

    def __init__(self, admin_token: str, keys: KeyStore) -> None:
        self._admin = admin_token.encode()
        self._keys = keys

    async def authenticate(self, conn: HTTPConnection) -> Principal | None:
        header = conn.headers.get("authorization")
        if not header:
            return None
        token = _token(header)
        if hmac.compare_digest(token.encode(), self._admin):
            return ADMIN_PRINCIPAL
        prefix = api_keys.prefix_of(token)
        if prefix is None:
            raise unauthorized("invalid token")
        key = await self._keys.find(prefix)
        if key is None or key.revoked:
            raise unauthorized("invalid or revoked token")
        if not api_keys.matches(token, key.secret_hash):
            raise unauthorized("invalid token")
        await self._keys.touch(key.key_id)
        return Principal(key.scope, key.client_id, key.key_id)


def _token(header: str) -> str:
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthorized("Authorization must be: Bearer <token>")
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise unauthorized("invalid token")
    return token


def bearer_authenticator(admin_token: str, keys: KeyStore) -> Authenticator:
    """What the platform's APIs accept: bearer tokens only."""
    return Authenticator(BearerTokenBackend(admin_token, keys))
