"""Endpoints of a rule. A signing secret (a channel that signs: webhooks) is shown once."""

from __future__ import annotations

import uuid

import asyncpg
from pydantic import SecretStr

from alerting.channels import registry
from alerting.services.rule_service import endpoint_values
from alerting.services.rule_service.api import paging
from alerting.services.rule_service.audit_trail import audited
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
from alerting.services.rule_service.repo import quotas
from alerting.services.rule_service.repo import rules as rules_repo
from alerting.web import problems

KIND = "endpoints"
DUPLICATE = "this rule already has an endpoint of this type with this value"


async def _visible_rule(ctx: Ctx) -> asyncpg.Record:
    rule = await rules_repo.get(ctx.pool, ctx.path_id("rule_id", "rule"), ctx.principal.owner)
    if rule is None:
        raise problems.not_found("rule")
    return rule


async def _normalize(ctx: Ctx, type_: str, value: str) -> str:
    return await endpoint_values.normalize(
        type_,
        value,
        allow_private=ctx.deps.settings.allow_private_urls,
        resolver=ctx.deps.resolver,
    )


async def create_endpoint(ctx: Ctx) -> EndpointCreated:
    rule = await _visible_rule(ctx)
    rule_id = rule["rule_id"]
    body = ctx.body(EndpointCreate)
    value = await _normalize(ctx, body.type, body.value)
    templates = endpoint_values.checked_templates(body.type, body.templates)
    endpoint_id = uuid.uuid4()
    supplied = endpoint_values.supplied_secret(body.type, _opened(body.secret))
    secret = endpoint_values.new_signing_secret(body.type)  # shown in this answer only
    # A supplied credential is never returned: the caller has it already.
    stored = endpoint_values.sealed_secret(supplied or secret, endpoint_id, ctx.deps.settings)
    async with audited(ctx) as change:
        limit = ctx.deps.settings.quotas.endpoints_per_rule
        await quotas.claim(change.conn, quotas.ENDPOINTS_PER_RULE, rule_id, limit)
        try:
            row = await repo.insert(
                change.conn,
                endpoint_id,
                rule_id,
                body.type,
                value,
                stored,
                body.send_resolved,
                templates,
                repo.RateOverride(body.rate_per_s, body.rate_burst),
            )
        except asyncpg.ForeignKeyViolationError:  # the rule was deleted meanwhile
            raise problems.not_found("rule") from None
        except asyncpg.UniqueViolationError:
            raise problems.conflict(DUPLICATE) from None
        # Not the value: it may be a credential (a Slack webhook URL). Nor the secret.
        change.record(
            "endpoint.create",
            row["endpoint_id"],
            rule["client_id"],
            rule_id=str(rule_id),
            type=body.type,
            send_resolved=body.send_resolved,
            templates=sorted(templates or ()),
            rate_per_s=body.rate_per_s,
            rate_burst=body.rate_burst,
        )
    return EndpointCreated.model_validate({**dict(row), "signing_secret": secret})


def _opened(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()


async def list_endpoints(ctx: Ctx) -> EndpointPage:
    rule_id = (await _visible_rule(ctx))["rule_id"]
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
    """Fields are validated first (by the endpoint's type, which never changes; the URL
    check resolves DNS, which no row lock should wait for), then merged into the row read
    FOR UPDATE in the change's transaction: two concurrent PATCHes of different fields
    both land, neither writes back the other's stale value."""
    seen = await _visible_endpoint(ctx)
    endpoint_id, type_ = seen["endpoint_id"], seen["type"]
    body = ctx.body(EndpointUpdate)
    new_value = None
    if body.value is not None and body.value != seen["value"]:
        _refuse_credential_redirect(type_, body)
        new_value = await _normalize(ctx, type_, body.value)
    sealed = None
    if body.secret is not None:
        supplied = endpoint_values.supplied_secret(type_, _opened(body.secret))
        sealed = endpoint_values.sealed_secret(supplied, endpoint_id, ctx.deps.settings)
    templates_set = "templates" in body.model_fields_set  # null clears them
    new_templates = endpoint_values.checked_templates(type_, body.templates)
    async with audited(ctx) as change:
        current = await repo.get(change.conn, endpoint_id, ctx.principal.owner, for_update=True)
        if current is None:
            raise problems.not_found("endpoint")
        value = current["value"] if new_value is None else new_value
        send_resolved = body.send_resolved
        if send_resolved is None:
            send_resolved = current["send_resolved"]
        templates = new_templates if templates_set else current["templates"]
        rate = _rate(body, current)
        try:
            row = await repo.update(
                change.conn,
                endpoint_id,
                value,
                body.enabled,
                send_resolved,
                templates,
                rate,
                sealed,
            )
        except asyncpg.UniqueViolationError:
            raise problems.conflict(DUPLICATE) from None
        if row is None:
            raise problems.not_found("endpoint")
        change.record(
            "endpoint.update",
            row["endpoint_id"],
            current["client_id"],
            enabled=row["enabled"],
            send_resolved=send_resolved,
            value_changed=value != current["value"],
            templates=sorted(templates or ()),
            secret_replaced=sealed is not None,
            rate_per_s=rate.per_s,
            rate_burst=rate.burst,
        )
    return Endpoint.model_validate(dict(row))


def _rate(body: EndpointUpdate, current: asyncpg.Record) -> repo.RateOverride:
    """Each part absent keeps the stored one; null clears it (back to the default)."""
    given = body.model_fields_set
    return repo.RateOverride(
        body.rate_per_s if "rate_per_s" in given else current["rate_per_s"],
        body.rate_burst if "rate_burst" in given else current["rate_burst"],
    )


def _refuse_credential_redirect(type_: str, body: EndpointUpdate) -> None:
    """A credential's channel sends its secret (a routing key) to the URL: a new URL
    without the secret would let whoever can PATCH point the stored key at their own
    server and read it from a test send. Whoever supplies the key knows it already."""
    credential = registry.get(type_).credential
    if credential is not None and body.secret is None:
        raise problems.invalid(
            "value",
            f"a {type_} endpoint's URL is changed only with its secret ({credential.what})"
            " in the same request: the secret is sent to that URL",
        )


async def delete_endpoint(ctx: Ctx) -> None:
    current = await _visible_endpoint(ctx)
    async with audited(ctx) as change:
        if not await repo.delete(change.conn, current["endpoint_id"]):
            raise problems.not_found("endpoint")
        change.record(
            "endpoint.delete",
            current["endpoint_id"],
            current["client_id"],
            rule_id=str(current["rule_id"]),
        )


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
    Operation("PATCH", ONE, update_endpoint,
              "Change an endpoint's value, enabled or send_resolved flag, secret, templates"
              " or delivery rate",
              TAG,
              response=Endpoint, body=EndpointUpdate, errors=(409,), carries_secret=True),
    Operation("DELETE", ONE, delete_endpoint, "Delete an endpoint", TAG, status=204),
)  # fmt: skip
