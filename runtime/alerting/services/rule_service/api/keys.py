"""API keys: admins issue them; a client key may list and revoke its own client's keys."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from alerting.domain import api_keys
from alerting.services.rule_service.api import paging
from alerting.services.rule_service.audit_trail import audited
from alerting.services.rule_service.models.keys import (
    ApiKey,
    ApiKeyCreated,
    ApiKeyPage,
    ApiKeyQuery,
    ApiKeyUpdate,
    ClientKeyCreate,
    IngestKeyCreate,
)
from alerting.services.rule_service.operation import Ctx, Operation
from alerting.services.rule_service.repo import api_keys as repo
from alerting.services.rule_service.repo import clients as clients_repo
from alerting.services.rule_service.repo import quotas
from alerting.web import problems

KIND = "api-keys"


async def _issue(
    ctx: Ctx,
    scope: str,
    client_id: str | None,
    description: str,
    label_mapping: dict[str, Any] | None = None,
) -> ApiKeyCreated:
    key = api_keys.generate()
    async with audited(ctx) as change:
        # Ingest keys belong to no client and are not counted (``claim`` skips a None parent).
        limit = ctx.deps.settings.quotas.api_keys_per_client
        await quotas.claim(change.conn, quotas.API_KEYS_PER_CLIENT, client_id, limit)
        try:
            row = await repo.insert(
                change.conn,
                uuid.uuid4(),
                key.prefix,
                key.secret_hash,
                scope,
                client_id,
                description,
                label_mapping,
            )
        except asyncpg.ForeignKeyViolationError:
            raise problems.not_found("client") from None
        # The prefix is the key's public half: it names the key in logs and audit rows.
        change.record("key.create", row["key_id"], client_id, scope=scope, prefix=key.prefix)
    return ApiKeyCreated.model_validate({**dict(row), "token": key.token})


async def _visible_client(ctx: Ctx) -> str:
    client_id = ctx.path("client_id")
    owner = ctx.principal.owner
    if (owner is not None and owner != client_id) or await clients_repo.get(
        ctx.pool, client_id
    ) is None:
        raise problems.not_found("client")
    return client_id


async def _page(ctx: Ctx, client_id: str | None, scope: str | None) -> ApiKeyPage:
    q = ctx.query(ApiKeyQuery)
    rows = await repo.page(
        ctx.pool,
        client_id=client_id,
        scope=scope or q.scope,
        after=paging.start_after(ctx, KIND, q.cursor),
        limit=q.limit + 1,
    )
    items, next_cursor = paging.split(ctx, KIND, rows, q.limit, "key_id")
    return ApiKeyPage(items=[ApiKey.model_validate(i) for i in items], next_cursor=next_cursor)


async def create_client_key(ctx: Ctx) -> ApiKeyCreated:
    body = ctx.body(ClientKeyCreate)
    return await _issue(ctx, "client", ctx.path("client_id"), body.description)


async def list_client_keys(ctx: Ctx) -> ApiKeyPage:
    return await _page(ctx, await _visible_client(ctx), "client")


async def revoke_client_key(ctx: Ctx) -> None:
    await _revoke(ctx, await _visible_client(ctx))


async def create_ingest_key(ctx: Ctx) -> ApiKeyCreated:
    body = ctx.body(IngestKeyCreate)
    mapping = None if body.label_mapping is None else body.label_mapping.stored()
    return await _issue(ctx, body.scope, None, body.description, mapping)


async def update_key(ctx: Ctx) -> ApiKey:
    """Replace an ingest key's label mapping. Ingest sees it within its key refresh
    interval (``ALERTING_API_KEY_REFRESH_S``, docs/ingest.md): it caches keys."""
    key_id = ctx.path_id("key_id", "API key")
    body = ctx.body(ApiKeyUpdate)
    mapping = None if body.label_mapping is None else body.label_mapping.stored()
    async with audited(ctx) as change:
        row = await repo.set_label_mapping(change.conn, key_id, mapping)
        if row is None:
            raise problems.not_found("API key")
        if row["scope"] != "ingest":
            raise problems.invalid("label_mapping", "only ingest keys carry a label mapping")
        change.record(
            "key.update", key_id, row["client_id"], prefix=row["prefix"], label_mapping=mapping
        )
    return ApiKey.model_validate(dict(row))


async def list_keys(ctx: Ctx) -> ApiKeyPage:
    return await _page(ctx, None, None)


async def revoke_key(ctx: Ctx) -> None:
    await _revoke(ctx, None)


async def _revoke(ctx: Ctx, client_id: str | None) -> None:
    """Revoke the path's key (of ``client_id`` when given); revoking again is a no-op
    that answers the same and is recorded again."""
    key_id = ctx.path_id("key_id", "API key")
    async with audited(ctx) as change:
        revoked = await repo.revoke(change.conn, key_id, client_id)
        if revoked is None:
            raise problems.not_found("API key")
        change.record("key.revoke", key_id, revoked["client_id"], prefix=revoked["prefix"])


OF_CLIENT = "/api/v1/clients/{client_id}/api-keys"
BASE = "/api/v1/api-keys"
TAG = "api-keys"
OPERATIONS = (
    Operation("POST", OF_CLIENT, create_client_key,
              "Issue a client-scoped key (admin); the token is shown once", TAG,
              response=ApiKeyCreated, status=201, body=ClientKeyCreate, admin_only=True,
              errors=(409,), carries_secret=True),
    Operation("GET", OF_CLIENT, list_client_keys, "List a client's keys (no secrets)", TAG,
              response=ApiKeyPage, query=ApiKeyQuery),
    Operation("DELETE", OF_CLIENT + "/{key_id}", revoke_client_key, "Revoke a client's key",
              TAG, status=204),
    Operation("POST", BASE, create_ingest_key,
              "Issue an ingest-scoped key (admin); the token is shown once", TAG,
              response=ApiKeyCreated, status=201, body=IngestKeyCreate, admin_only=True,
              carries_secret=True),
    Operation("GET", BASE, list_keys, "List every key (admin, no secrets)", TAG,
              response=ApiKeyPage, query=ApiKeyQuery, admin_only=True),
    Operation("PATCH", BASE + "/{key_id}", update_key,
              "Change an ingest key's label mapping (admin)", TAG,
              response=ApiKey, body=ApiKeyUpdate, admin_only=True),
    Operation("DELETE", BASE + "/{key_id}", revoke_key, "Revoke any key (admin)", TAG,
              status=204, admin_only=True),
)  # fmt: skip
