"""Clients: admins create and delete them; a client key sees and renames only its own.

Deleting a client is immediate for the API (a tombstone hides its notifications in the
same transaction) and its notifications are removed in small batches after the answer
for large tenants (``purger.py``); the id can be created again once they are all gone.
"""

from __future__ import annotations

import logging

import asyncpg

from alerting.adapters.postgres import UNAVAILABLE
from alerting.services.rule_service.api import paging
from alerting.services.rule_service.audit_trail import audited
from alerting.services.rule_service.models.clients import (
    Client,
    ClientCreate,
    ClientPage,
    ClientQuery,
    ClientUpdate,
)
from alerting.services.rule_service.operation import Ctx, Operation
from alerting.services.rule_service.purger import REQUEST_BATCHES, ClientPurger
from alerting.services.rule_service.repo import clients as repo
from alerting.web import problems

log = logging.getLogger(__name__)

KIND = "clients"
# What a create of an id still being purged is told to wait: about one purge pass.
PURGE_RETRY_AFTER_S = 5
# A purge in the request that fails leaves its work to the background loop.
PURGE_ERRORS: tuple[type[Exception], ...] = (asyncpg.PostgresError, *UNAVAILABLE)


def _visible_id(ctx: Ctx) -> str:
    client_id = ctx.path("client_id")
    owner = ctx.principal.owner
    if owner is not None and owner != client_id:
        raise problems.not_found("client")
    return client_id


async def create_client(ctx: Ctx) -> Client:
    body = ctx.body(ClientCreate)
    async with audited(ctx) as change:
        try:
            row = await repo.insert(change.conn, body.client_id, body.name)
        except asyncpg.UniqueViolationError:
            raise problems.conflict(f"client {body.client_id!r} already exists") from None
        except repo.BeingDeleted:
            error = problems.conflict(
                f"client {body.client_id!r} was deleted and its notifications are still being"
                " removed; create it again once they are gone"
            )
            error.headers["Retry-After"] = str(PURGE_RETRY_AFTER_S)
            raise error from None
        change.record("client.create", body.client_id, body.client_id, name=body.name)
    return Client.model_validate(dict(row))


async def list_clients(ctx: Ctx) -> ClientPage:
    q = ctx.query(ClientQuery)
    rows = await repo.page(
        ctx.pool,
        only=ctx.principal.owner,
        after=paging.start_after(ctx, KIND, q.cursor),
        limit=q.limit + 1,
    )
    items, next_cursor = paging.split(ctx, KIND, rows, q.limit, "client_id")
    return ClientPage(items=[Client.model_validate(i) for i in items], next_cursor=next_cursor)


async def get_client(ctx: Ctx) -> Client:
    row = await repo.get(ctx.pool, _visible_id(ctx))
    if row is None:
        raise problems.not_found("client")
    return Client.model_validate(dict(row))


async def update_client(ctx: Ctx) -> Client:
    client_id = _visible_id(ctx)
    body = ctx.body(ClientUpdate)
    async with audited(ctx) as change:
        row = await repo.rename(change.conn, client_id, body.name)
        if row is None:
            raise problems.not_found("client")
        change.record("client.update", client_id, client_id, name=body.name)
    return Client.model_validate(dict(row))


async def delete_client(ctx: Ctx) -> None:
    client_id = ctx.path("client_id")
    async with audited(ctx) as change:
        if not await repo.delete(change.conn, client_id):
            raise problems.not_found("client")
        change.record("client.delete", client_id, client_id)
    # The deletion is committed and the API already hides the notifications; removing
    # them is best effort here, and whatever is left is the background purge's.
    purger = ClientPurger(ctx.pool, ctx.deps.settings.client_purge_batch)
    try:
        await purger.purge(client_id, REQUEST_BATCHES)
    except PURGE_ERRORS as exc:
        log.warning("deleted client %s: purge deferred to the background (%s)", client_id, exc)
    except Exception:
        # Still a 204: the deletion is committed, and a 500 would make the caller retry
        # into a 404. The traceback is a bug's; the background loop purges anyway.
        log.exception("deleted client %s: purge deferred to the background", client_id)


BASE = "/api/v1/clients"
ONE = BASE + "/{client_id}"
TAG = "clients"
OPERATIONS = (
    Operation("POST", BASE, create_client, "Create a client (admin)", TAG, response=Client,
              status=201, body=ClientCreate, admin_only=True, errors=(409,)),
    Operation("GET", BASE, list_clients, "List clients", TAG, response=ClientPage,
              query=ClientQuery),
    Operation("GET", ONE, get_client, "Get a client", TAG, response=Client),
    Operation("PATCH", ONE, update_client, "Rename a client", TAG, response=Client,
              body=ClientUpdate),
    Operation("DELETE", ONE, delete_client, "Delete a client with its rules, endpoints, keys"
              " and notifications (admin). Its notifications vanish from the API at once and"
              " are removed in small batches, a large tenant's after the answer; the id can"
              " be created again (409 with Retry-After until then) once they are gone",
              TAG, status=204, admin_only=True),
)  # fmt: skip
