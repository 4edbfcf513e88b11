"""Rules: create, read, optimistic-locking PATCH, delete; each change writes its outbox row.

Every answer says whether the rule, as stored, is `live` in the evaluators; POST and
PATCH take `?wait=` to answer once it is (``api/live.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import asyncpg

from alerting.domain.grouping import CONTEXT_PREFIX, GroupingPolicy, InvalidGrouping
from alerting.domain.liveness import Versioned
from alerting.domain.model import WILDCARD, RuleAction
from alerting.domain.text import LABEL
from alerting.services.rule_service.api import live, paging
from alerting.services.rule_service.audit_trail import audited
from alerting.services.rule_service.models.common import WaitQuery
from alerting.services.rule_service.models.rules import (
    Rule,
    RuleCreate,
    RulePage,
    RuleQuery,
    RuleUpdate,
)
from alerting.services.rule_service.operation import Ctx, Operation
from alerting.services.rule_service.repo import quotas
from alerting.services.rule_service.repo import rules as repo
from alerting.services.rule_service.repo.rules import RuleFields
from alerting.web import problems

Row = asyncpg.Record | Mapping[str, Any]  # a fetched row, or a page's item
KIND = "rules"
DUPLICATE = "this client already has a rule with the same severity, source and name"


def check_not_all_wildcards(fields: RuleFields) -> None:
    if fields.severity == fields.source == fields.name == WILDCARD:
        message = "severity, source and name cannot all be '*'"
        raise problems.ApiError(
            422,
            message,
            kind="validation-error",
            errors=[(f, message) for f in ("severity", "source", "name")],
        )


def parse_grouping(value: dict[str, Any] | None) -> GroupingPolicy | None:
    """A body's policy (None: no grouping); a bad one is a 422 naming its field. A
    context key is held to ingest's policy for context keys too (``LABEL``): one an
    alert can never carry would group nothing, and a NUL cannot even be stored."""
    if value is None:
        return None
    try:
        policy = GroupingPolicy.parse(value)
    except InvalidGrouping as exc:
        # An unknown field's name is the caller's text: escaped, as field_path does.
        raise problems.invalid(LABEL.neutralised(exc.field), exc.message) from None
    for i, name in enumerate(policy.group_by):
        key = name.removeprefix(CONTEXT_PREFIX)
        violation = LABEL.violation(key) if name.startswith(CONTEXT_PREFIX) else None
        if violation is not None:
            raise problems.invalid(f"grouping.group_by[{i}]", violation)
    return policy


def _stored_grouping(value: dict[str, Any] | None) -> GroupingPolicy | None:
    return None if value is None else GroupingPolicy.parse(value)


def _audited(fields: RuleFields) -> dict[str, Any]:
    """A rule's fields as its audit rows record them (the policy as stored)."""
    details = asdict(fields)
    details["grouping"] = fields.params()[-1]
    return details


def action_for(old: RuleFields, new: RuleFields) -> RuleAction:
    """DISABLED whenever the rule ends up disabled (it must leave the snapshot);
    UPDATED for an enable or a field change of an enabled rule."""
    del old  # the action depends only on where the rule ends up
    return RuleAction.UPDATED if new.enabled else RuleAction.DISABLED


def _fields(row: asyncpg.Record) -> RuleFields:
    return RuleFields(
        row["severity"], row["source"], row["name"], row["enabled"],
        _stored_grouping(row["grouping"]),
    )  # fmt: skip


def _versioned(row: Row) -> Versioned:
    return live.versioned(row["rule_id"], row["version"], row["updated_at"])


def _rule(row: Row, is_live: bool) -> Rule:
    return Rule.model_validate({**dict(row), "live": is_live})


async def shown(ctx: Ctx, rows: Sequence[Row]) -> list[Rule]:
    """Rules as answered, with `live` for all of them in one Redis round trip."""
    flags = await live.live_flags(ctx, [_versioned(r) for r in rows])
    return [_rule(r, f) for r, f in zip(rows, flags, strict=True)]


async def _changed(ctx: Ctx, row: Row, wait: WaitQuery) -> Rule:
    return _rule(row, await live.after_change(ctx, _versioned(row), wait.wait))


async def create_rule(ctx: Ctx) -> Rule:
    body = ctx.body(RuleCreate)
    wait = ctx.query(WaitQuery)
    owner = ctx.principal.owner
    if owner is not None and body.client_id != owner:
        raise problems.not_found("client")
    fields = RuleFields(
        body.severity, body.source, body.name, body.enabled, parse_grouping(body.grouping)
    )
    check_not_all_wildcards(fields)
    async with audited(ctx) as change:
        limit = ctx.deps.settings.quotas.rules_per_client
        await quotas.claim(change.conn, quotas.RULES_PER_CLIENT, body.client_id, limit)
        try:
            row = await repo.insert(change.conn, uuid.uuid4(), body.client_id, fields)
        except asyncpg.ForeignKeyViolationError:
            raise problems.not_found("client") from None
        except asyncpg.UniqueViolationError:
            raise problems.conflict(DUPLICATE) from None
        change.record("rule.create", row["rule_id"], body.client_id, **_audited(fields))
    return await _changed(ctx, row, wait)


async def list_rules(ctx: Ctx) -> RulePage:
    """A client key sees its own rules; filtering on another client yields an empty page."""
    q = ctx.query(RuleQuery)
    owner = ctx.principal.owner
    if owner is not None and q.client_id not in (None, owner):
        return RulePage(items=[], next_cursor=None)
    rows = await repo.page(
        ctx.pool,
        client_id=owner or q.client_id,
        enabled=q.enabled,
        after=paging.start_after(ctx, KIND, q.cursor),
        limit=q.limit + 1,
    )
    items, next_cursor = paging.split(ctx, KIND, rows, q.limit, "rule_id")
    return RulePage(items=await shown(ctx, items), next_cursor=next_cursor)


async def get_rule(ctx: Ctx) -> Rule:
    row = await repo.get(ctx.pool, ctx.path_id("rule_id", "rule"), ctx.principal.owner)
    if row is None:
        raise problems.not_found("rule")
    (rule,) = await shown(ctx, [row])
    return rule


async def update_rule(ctx: Ctx) -> Rule:
    """Compare-and-set on ``version`` under a row lock: a stale version changes nothing
    and answers 409 with the current version; a no-op PATCH keeps the version."""
    rule_id = ctx.path_id("rule_id", "rule")
    body = ctx.body(RuleUpdate)
    wait = ctx.query(WaitQuery)
    async with audited(ctx) as change:
        conn = change.conn
        row = await repo.get(conn, rule_id, ctx.principal.owner, for_update=True)
        if row is None:
            raise problems.not_found("rule")
        if row["version"] != body.version:
            raise problems.conflict(
                f"version {body.version} is stale; the rule is at version {row['version']}",
                current_version=row["version"],
            )
        old = _fields(row)
        new = RuleFields(
            body.severity if body.severity is not None else old.severity,
            body.source if body.source is not None else old.source,
            body.name if body.name is not None else old.name,
            body.enabled if body.enabled is not None else old.enabled,
            # Absent keeps the policy; null removes it.
            parse_grouping(body.grouping) if "grouping" in body.model_fields_set else old.grouping,
        )
        if new != old:
            check_not_all_wildcards(new)
            try:
                async with conn.transaction():  # a savepoint: a duplicate leaves nothing
                    row = await repo.update(conn, rule_id, new, action_for(old, new))
            except asyncpg.UniqueViolationError:
                raise problems.conflict(DUPLICATE) from None
            before = _audited(old)
            changed = {k: v for k, v in _audited(new).items() if v != before[k]}
            change.record(
                "rule.update", rule_id, row["client_id"], version=row["version"], **changed
            )
    return await _changed(ctx, row, wait)


async def delete_rule(ctx: Ctx) -> None:
    rule_id = ctx.path_id("rule_id", "rule")
    async with audited(ctx) as change:
        client_id = await repo.delete(change.conn, rule_id, ctx.principal.owner)
        if client_id is None:
            raise problems.not_found("rule")
        change.record("rule.delete", rule_id, client_id)


BASE = "/api/v1/rules"
ONE = BASE + "/{rule_id}"
TAG = "rules"
OPERATIONS = (
    Operation("POST", BASE, create_rule, "Create a rule (version 1)", TAG, response=Rule,
              status=201, body=RuleCreate, query=WaitQuery, errors=(404, 409)),
    Operation("GET", BASE, list_rules, "List rules", TAG, response=RulePage, query=RuleQuery),
    Operation("GET", ONE, get_rule, "Get a rule", TAG, response=Rule),
    Operation("PATCH", ONE, update_rule, "Update a rule; carry the version last read", TAG,
              response=Rule, body=RuleUpdate, query=WaitQuery, errors=(409,)),
    Operation("DELETE", ONE, delete_rule, "Delete a rule and its endpoints", TAG, status=204),
)  # fmt: skip
