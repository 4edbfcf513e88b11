"""Endpoints of a rule. A signing secret (a channel that signs: webhooks) is shown once."""

from __future__ import annotations

import uuid

import asyncpg

from alerting.services.rule_service import endpoint_values
from alerting.services.rule_service.api import paging
from alerting.services.rule_service.models.endpoints import (
    Endpoint,
    EndpointCreate,
    EndpointCreated,
    EndpointPage,
    EndpointQuery,
    EndpointUpdate,
)
from alerting.services.rule_service.operation import Ctx, Operation
from alerting.services.rule_service.repo import endpoints as repo
from alerting.services.rule_service.repo import rules as rules_repo
from alerting.web import problems

KIND = "endpoints"
DUPLICATE = "this rule already has an endpoint of this type with this value"


async def _visible_rule(ctx: Ctx) -> uuid.UUID:
    rule_id = ctx.path_id("rule_id", "rule")
    if await rules_repo.get(ctx.pool, rule_id, ctx.principal.owner) is None:
        raise problems.not_found("rule")
    return rule_id


async def _normalize(ctx: Ctx, type_: str, value: str) -> str:
    return await endpoint_values.normalize(
        type_,
        value,
        allow_private=ctx.deps.settings.allow_private_urls,
        resolver=ctx.deps.resolver,
    )


async def create_endpoint(ctx: Ctx) -> EndpointCreated:
    rule_id = await _visible_rule(ctx)
    body = ctx.body(EndpointCreate)
    value = await _normalize(ctx, body.type, body.value)
    endpoint_id = uuid.uuid4()
    secret = endpoint_values.new_signing_secret(body.type)  # shown in this answer only
    stored = endpoint_values.sealed_secret(secret, endpoint_id, ctx.deps.settings)
    try:
        row = await repo.insert(ctx.pool, endpoint_id, rule_id, body.type, value, stored)
    except asyncpg.ForeignKeyViolationError:  # the rule was deleted meanwhile
        raise problems.not_found("rule") from None
    except asyncpg.UniqueViolationError:
        raise problems.conflict(DUPLICATE) from None
    return EndpointCreated.model_validate({**dict(row), "signing_secret": secret})


async def list_endpoints(ctx: Ctx) -> EndpointPage:
    rule_id = await _visible_rule(ctx)
    q = ctx.query(EndpointQuery)
    rows = await repo.page(
        ctx.pool, rule_id=rule_id, after=paging.start_after(ctx, KIND, q.cursor), limit=q.limit + 1
    )
    items, next_cursor = paging.split(ctx, KIND, rows, q.limit, "endpoint_id")
    return EndpointPage(items=[Endpoint.model_validate(i) for i in items], next_cursor=next_cursor)


async def _visible_endpoint(ctx: Ctx) -> asyncpg.Record:
    endpoint_id = ctx.path_id("endpoint_id", "endpoint")
    row = await repo.get(ctx.pool, endpoint_id, ctx.principal.owner)
    if row is None:
        raise problems.not_found("endpoint")
    return row


async def get_endpoint(ctx: Ctx) -> Endpoint:
    return Endpoint.model_validate(dict(await _visible_endpoint(ctx)))


async def update_endpoint(ctx: Ctx) -> Endpoint:
    current = await _visible_endpoint(ctx)
    body = ctx.body(EndpointUpdate)
    value = current["value"]
    if body.value is not None and body.value != value:
        value = await _normalize(ctx, current["type"], body.value)
    enabled = current["enabled"] if body.enabled is None else body.enabled
    try:
        row = await repo.update(ctx.pool, current["endpoint_id"], value, enabled)
    except asyncpg.UniqueViolationError:
        raise problems.conflict(DUPLICATE) from None
    if row is None:
        raise problems.not_found("endpoint")
    return Endpoint.model_validate(dict(row))


async def delete_endpoint(ctx: Ctx) -> None:
    current = await _visible_endpoint(ctx)
    if not await repo.delete(ctx.pool, current["endpoint_id"]):
        raise problems.not_found("endpoint")


OF_RULE = "/api/v1/rules/{rule_id}/endpoints"
ONE = "/api/v1/endpoints/{endpoint_id}"
TAG = "endpoints"
# Every answer with an endpoint carries a secret: its value may be a credential (a Slack
# incoming-webhook URL is one; webhook URLs often hold a token), and creating a signing
# channel's endpoint returns its signing secret.
OPERATIONS = (
    Operation("POST", OF_RULE, create_endpoint, "Add an endpoint to a rule", TAG,
              response=EndpointCreated, status=201, body=EndpointCreate, errors=(409,),
              carries_secret=True),
    Operation("GET", OF_RULE, list_endpoints, "List a rule's endpoints", TAG,
              response=EndpointPage, query=EndpointQuery, carries_secret=True),
    Operation("GET", ONE, get_endpoint, "Get an endpoint", TAG, response=Endpoint,
              carries_secret=True),
    Operation("PATCH", ONE, update_endpoint, "Change an endpoint's value or enabled flag", TAG,
              response=Endpoint, body=EndpointUpdate, errors=(409,), carries_secret=True),
    Operation("DELETE", ONE, delete_endpoint, "Delete an endpoint", TAG, status=204),
)  # fmt: skip
