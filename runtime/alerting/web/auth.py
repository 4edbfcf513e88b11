"""Who is calling and what they may do: principals, scopes and pluggable backends.

The shape is Starlette's authentication (``AuthenticationBackend`` turns a request into
credentials with scopes, ``requires`` declares what an endpoint needs), but it runs
inside the endpoint wrapper rather than as ``AuthenticationMiddleware``: a middleware
answers before routing, so a 401 would escape the per-route request metrics, and it
would look up credentials for health checks and unknown paths too.

Backends are tried in order; the first that recognises credentials in the request
wins. The APIs use the bearer-token backend (``alerting.web.bearer``); a browser-facing
app adds, say, a session-cookie backend in front of it without touching this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol
from uuid import UUID

from starlette.requests import HTTPConnection

from alerting.domain.label_mapping import LabelMapping
from alerting.web.problems import unauthorized

Kind = Literal["admin", "client", "ingest"]


class Scope(StrEnum):
    """What a caller may do; each endpoint lists the scopes it requires."""

    ADMIN = "admin"  # every tenant's resources and the platform's own (keys, pipeline, loadgen)
    TENANT = "tenant"  # a tenant's clients, rules, endpoints, notifications and keys
    INGEST = "ingest"  # post alerts (load-generator jobs need ADMIN)


SCOPES: Mapping[Kind, frozenset[Scope]] = {
    "admin": frozenset(Scope),
    "client": frozenset({Scope.TENANT}),
    "ingest": frozenset({Scope.INGEST}),
}
# Why a caller lacking the scope is turned away (403). Each scope is missing from one
# kind of caller only, so the message can tell that caller what to use instead.
REFUSALS: Mapping[Scope, str] = {
    Scope.ADMIN: "this operation needs the admin token",
    Scope.TENANT: "ingest keys may only post alerts",
    Scope.INGEST: "client keys cannot post alerts; use an ingest key",
}
# The challenge names the bearer scheme whatever the backends: it is the one every API
# client speaks; a browser app meets a 401 with its login page instead.
MISSING_CREDENTIALS = "missing Authorization: Bearer <token>"


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Kind
    client_id: str | None = None
    key_id: UUID | None = None
    prefix: str | None = None  # the API key's public prefix: who it was, in the audit log
    # An ingest key's override of how Prometheus labels map to alert fields (ingest's
    # /api/v2/alerts and Alertmanager webhook); None: the documented defaults.
    label_mapping: LabelMapping | None = None

    @property
    def scopes(self) -> frozenset[Scope]:
        return SCOPES[self.kind]

    @property
    def owner(self) -> str | None:
        """The client this caller is confined to; None for admins (no confinement)."""
        return self.client_id if self.kind == "client" else None


ADMIN_PRINCIPAL = Principal("admin")  # the one admin; no allocation per request


def refusal(kind: Kind, required: Sequence[Scope]) -> str | None:
    """Why a caller of this kind may not call an endpoint requiring these scopes (the
    first one it lacks, in the order declared); None when it may."""
    granted = SCOPES[kind]
    return next((REFUSALS[scope] for scope in required if scope not in granted), None)


def refusals(required: Sequence[Scope]) -> Mapping[Kind, str | None]:
    """``refusal`` for every kind of caller, worked out once per endpoint so a request
    costs one lookup."""
    return {kind: refusal(kind, required) for kind in SCOPES}


class AuthenticationBackend(Protocol):
    async def authenticate(self, conn: HTTPConnection) -> Principal | None:
        """The caller, or None when the request carries no credentials of this kind.

        Raises a 401 ``ApiError`` for credentials of this kind that are wrong; any other
        exception means they could not be checked (the key store is down, say).
        """
        ...


class Authenticator:
    """The backends of one app, tried in order; no credentials at all is a 401."""

    def __init__(self, *backends: AuthenticationBackend) -> None:
        self._backends = backends

    async def authenticate(self, conn: HTTPConnection) -> Principal:
        for backend in self._backends:
            principal = await backend.authenticate(conn)
            if principal is not None:
                return principal
        raise unauthorized(MISSING_CREDENTIALS)
