"""Groups and digests (docs/grouping.md, "API"): read-only views of what the sender's
grouping did, scoped to the caller's tenant as the notifications are."""

from __future__ import annotations

from alerting.services.rule_service.api import paging
from alerting.services.rule_service.api.notifications import scope
from alerting.services.rule_service.models.groups import (
    LATEST_DIGESTS,
    Digest,
    DigestDetail,
    DigestMember,
    Group,
    GroupDetail,
    GroupPage,
    GroupQuery,
)
from alerting.services.rule_service.operation import Ctx, Operation
from alerting.services.rule_service.repo import groups as repo
from alerting.web import problems

KIND = "groups"


async def list_groups(ctx: Ctx) -> GroupPage:
    q = ctx.query(GroupQuery)
    visible, client_id = scope(ctx, q.client_id, None)
    if not visible:
        return GroupPage(items=[], next_cursor=None)
    rows = await repo.page(
        ctx.pool,
        client_id=client_id,
        rule_id=q.rule_id,
        endpoint_id=q.endpoint_id,
        state=q.state,
        after=paging.start_after(ctx, KIND, q.cursor),
        limit=q.limit + 1,
    )
    items, next_cursor = paging.split(ctx, KIND, rows, q.limit, "group_id", "opened_at")
    return GroupPage(items=[Group.model_validate(i) for i in items], next_cursor=next_cursor)


async def get_group(ctx: Ctx) -> GroupDetail:
    group_id = ctx.path_id("group_id", "group")
    row = await repo.get(ctx.pool, group_id, ctx.principal.owner)
    if row is None:
        raise problems.not_found("group")
    digests = await repo.latest_digests(ctx.pool, group_id, LATEST_DIGESTS)
    return GroupDetail.model_validate(
        {**dict(row), "latest_digests": [Digest.model_validate(dict(d)) for d in digests]}
    )


async def get_digest(ctx: Ctx) -> DigestDetail:
    group_id = ctx.path_id("group_id", "group")
    digest_id = ctx.path_id("digest_id", "digest")
    group = await repo.get(ctx.pool, group_id, ctx.principal.owner)
    if group is None:
        raise problems.not_found("group")
    row, members = await repo.digest(ctx.pool, group, digest_id)
    if row is None:
        raise problems.not_found("digest")
    return DigestDetail.model_validate(
        {**dict(row), "notifications": [DigestMember.model_validate(dict(m)) for m in members]}
    )


BASE = "/api/v1/groups"
ONE = BASE + "/{group_id}"
TAG = "groups"
OPERATIONS = (
    Operation("GET", BASE, list_groups, "List notification groups, newest first", TAG,
              response=GroupPage, query=GroupQuery),
    Operation("GET", ONE, get_group, f"Get a group with its latest {LATEST_DIGESTS} digests",
              TAG, response=GroupDetail),
    Operation("GET", ONE + "/digests/{digest_id}", get_digest,
              "Get a digest of a group with the notifications it carries", TAG,
              response=DigestDetail),
)  # fmt: skip
