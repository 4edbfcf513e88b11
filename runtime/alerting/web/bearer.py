"""Bearer tokens: the admin token or an API key, from the Authorization header.

This is the one place in the runtime that reads an Authorization header (a test keeps
it so): every API authenticates the same way, with the same messages.

Every wrong token gets the same answer, whatever was wrong (not a key, an unknown
prefix, a revoked key, a wrong secret), and takes the same path as far as that is
reasonable: an unknown prefix is verified against a dummy digest, a revoked key's
secret is verified too. Failures are counted, throttled and logged by the
``FailedAuthGuard`` (docs/security.md): a source over its limit is refused before
anything is verified; a key prefix over its limit only turns a wrong secret's 401 into
429, since the prefix is public and its holder must still get in.
"""

from __future__ import annotations

import hmac

from starlette.requests import HTTPConnection

from alerting.domain import api_keys
from alerting.web.auth import ADMIN_PRINCIPAL, Authenticator, Principal
from alerting.web.auth_guard import FailedAuthGuard, blocked
from alerting.web.key_store import KeyStore
from alerting.web.problems import unauthorized

MAX_TOKEN_LENGTH = 512
NOT_BEARER = "Authorization must be: Bearer <token>"
INVALID_TOKEN = "invalid or revoked token"  # noqa: S105 - a message, not a secret


class BearerTokenBackend:
    """The admin token (compared in constant time, never stored anywhere else) or an
    API key looked up by its prefix and verified against its digest."""

    def __init__(
        self, admin_token: str, keys: KeyStore, guard: FailedAuthGuard | None = None
    ) -> None:
        self._admin = admin_token.encode()
        self._keys = keys
        # The default limits unless told otherwise: no API goes without.
        self._guard = guard or FailedAuthGuard()

    async def authenticate(self, conn: HTTPConnection) -> Principal | None:
        header = conn.headers.get("authorization")
        if not header:
            return None
        source = self._guard.source_of(conn)
        token = _token(header)
        prefix = api_keys.prefix_of(token) if token is not None and _plausible(token) else None
        self._guard.check(source)
        if token is None:
            self._guard.failed(source, None, "not a bearer token")
            raise unauthorized(NOT_BEARER)
        principal, why = await self._verify(token, prefix)
        if principal is None:
            wait = self._guard.failed(source, prefix, why)
            raise blocked(wait) if wait else unauthorized(INVALID_TOKEN)
        return principal

    async def _verify(self, token: str, prefix: str | None) -> tuple[Principal | None, str]:
        """The caller, or None and why not (for the log only: the caller is told the
        same thing whatever it is)."""
        if not _plausible(token):
            return None, "over-long or non-ASCII token"
        if hmac.compare_digest(token.encode(), self._admin):
            return ADMIN_PRINCIPAL, ""
        if prefix is None:
            return None, "neither the admin token nor an API key"
        key = await self._keys.find(prefix)
        if not api_keys.matches(token, api_keys.DUMMY_HASH if key is None else key.secret_hash):
            return None, "unknown key prefix" if key is None else "wrong secret"
        assert key is not None  # the dummy digest matches no token
        if key.revoked:
            return None, "revoked key"
        await self._keys.touch(key.key_id)
        return Principal(key.scope, key.client_id, key.key_id, prefix, key.label_mapping), ""


def _token(header: str) -> str | None:
    """The bearer token in the header; None if it holds none."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _plausible(token: str) -> bool:
    """Whether the token could be one we issue; nothing else is even compared."""
    return len(token) <= MAX_TOKEN_LENGTH and token.isascii()


def bearer_authenticator(
    admin_token: str, keys: KeyStore, guard: FailedAuthGuard | None = None
) -> Authenticator:
    """What the platform's APIs accept: bearer tokens only, failures throttled."""
    return Authenticator(BearerTokenBackend(admin_token, keys, guard))
