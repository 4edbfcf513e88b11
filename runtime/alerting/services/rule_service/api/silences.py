"""Silences and maintenance windows: create, read, optimistic-locking PATCH, expire.

Each change writes its outbox row (entity SILENCE), so the evaluators' snapshot follows;
DELETE expires a silence now rather than removing it (what was muted, and why, stays
readable). Times are the service's clock, read once per request. Answers say whether
the silence, as stored, is `live` in the evaluators; POST and PATCH take `?wait=`
(``api/live.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from alerting.domain import silences as domain
from alerting.domain.liveness import Versioned
from alerting.services.rule_service.api import live, paging
from alerting.services.rule_service.audit_trail import actor, audited
from alerting.services.rule_service.models.common import WaitQuery
from alerting.services.rule_service.models.silences import (
    Silence,
    SilenceCreate,
    SilencePage,
    SilenceQuery,
    SilenceUpdate,
)
from alerting.services.rule_service.operation import Ctx, Operation
from alerting.services.rule_service.repo import quotas
from alerting.services.rule_service.repo import silences as repo
from alerting.web import problems

KIND = "silences"
# Where the domain's field names sit in a request body.
FIELDS = {"time_zone": "schedule.time_zone", "ranges": "schedule.ranges"}


def now_utc() -> datetime:
    return datetime.now(UTC)


@contextlib.contextmanager
def domain_checked() -> Iterator[None]:
    """A silence the domain refuses is a 422 naming the field it refused."""
    try:
        yield
    except domain.InvalidSilence as exc:
        raise problems.invalid(FIELDS.get(exc.field, exc.field), exc.message) from None


def check_future_end(silence: domain.Silence, now: datetime) -> None:
    if silence.ends_at is not None and silence.ends_at <= now:
        raise problems.invalid("ends_at", "must be in the future (DELETE expires a silence)")


def _versioned(row: asyncpg.Record) -> Versioned:
    return live.versioned(row["silence_id"], row["version"], row["updated_at"])


def view(row: asyncpg.Record, now: datetime, is_live: bool) -> Silence:
    return Silence.of(row, repo.readable(row), now, is_live)


async def shown(ctx: Ctx, rows: Sequence[asyncpg.Record], now: datetime) -> list[Silence]:
    """Silences as answered, with `live` for all of them in one Redis round trip."""
    flags = await live.live_flags(ctx, [_versioned(r) for r in rows])
    return [view(r, now, f) for r, f in zip(rows, flags, strict=True)]


async def changed(ctx: Ctx, row: asyncpg.Record, now: datetime, wait: WaitQuery) -> Silence:
    return view(row, now, await live.after_change(ctx, _versioned(row), wait.wait))


def described(silence: domain.Silence, comment: str) -> dict[str, Any]:
    """The audit row's details: what it mutes and when (alert text, no secrets)."""
    return {
        "matchers": [f"{m.name}{m.op.value}{m.value}" for m in silence.matchers],
        "starts_at": silence.starts_at.isoformat(),
        "ends_at": None if silence.ends_at is None else silence.ends_at.isoformat(),
        "window": silence.schedule is not None,
        "comment": comment,
    }


async def create_silence(ctx: Ctx) -> Silence:
    body = ctx.body(SilenceCreate)
    wait = ctx.query(WaitQuery)
    owner = ctx.principal.owner
    if owner is not None and body.client_id != owner:
        raise problems.not_found("client")
    now = now_utc()
    with domain_checked():
        silence = domain.Silence(
            str(uuid.uuid4()),
            body.client_id,
            tuple(m.to_domain() for m in body.matchers),
            body.starts_at or now,
            body.ends_at,
            None if body.schedule is None else body.schedule.to_domain(),
        )
    check_future_end(silence, now)
    async with audited(ctx) as change:
        limit = ctx.deps.settings.quotas.silences_per_client
        await quotas.claim(change.conn, quotas.SILENCES_PER_CLIENT, body.client_id, limit)
        try:
            row = await repo.insert(change.conn, silence, body.comment, actor(ctx).name)
        except asyncpg.ForeignKeyViolationError:
            raise problems.not_found("client") from None
        change.record(
            "silence.create", row["silence_id"], body.client_id, **described(silence, body.comment)
        )
    return await changed(ctx, row, now, wait)


async def list_silences(ctx: Ctx) -> SilencePage:
    """A client key sees its own silences. A state filter selects by time in SQL and
    then by each window's ranges, so such a page may be short; ``next_cursor`` says
    whether there is more."""
    q = ctx.query(SilenceQuery)
    owner = ctx.principal.owner
    if owner is not None and q.client_id not in (None, owner):
        return SilencePage(items=[], next_cursor=None)
    now = now_utc()
    rows = await repo.page(
        ctx.pool,
        client_id=owner or q.client_id,
        state=q.state,
        now=now,
        after=paging.start_after(ctx, KIND, q.cursor),
        limit=q.limit + 1,
    )
    scanned, next_cursor = paging.split(ctx, KIND, rows, q.limit, "silence_id")
    items = await shown(ctx, rows[: len(scanned)], now)
    if q.state is not None:
        items = [i for i in items if i.state == q.state]
    return SilencePage(items=items, next_cursor=next_cursor)


async def get_silence(ctx: Ctx) -> Silence:
    row = await repo.get(ctx.pool, ctx.path_id("silence_id", "silence"), ctx.principal.owner)
    if row is None:
        raise problems.not_found("silence")
    (silence,) = await shown(ctx, [row], now_utc())
    return silence


def _over(row: asyncpg.Record, now: datetime) -> bool:
    return row["ends_at"] is not None and row["ends_at"] <= now


async def update_silence(ctx: Ctx) -> Silence:
    """Compare-and-set on ``version`` under a row lock, like rules; a silence that is
    over cannot change (create a new one), and a no-op PATCH keeps the version."""
    silence_id = ctx.path_id("silence_id", "silence")
    body = ctx.body(SilenceUpdate)
    wait = ctx.query(WaitQuery)
    sent = body.model_fields_set
    now = now_utc()
    async with audited(ctx) as change:
        current = await repo.get(change.conn, silence_id, ctx.principal.owner, for_update=True)
        if current is None:
            raise problems.not_found("silence")
        if current["version"] != body.version:
            raise problems.conflict(
                f"version {body.version} is stale; the silence is at version {current['version']}",
                current_version=current["version"],
            )
        if _over(current, now):
            raise problems.conflict("the silence is over; create a new one")
        old = repo.readable(current)
        if old is None:
            raise problems.conflict(
                "the stored silence no longer validates (see the service log);"
                " expire it (DELETE) and create a new one"
            )
        with domain_checked():
            new = dataclasses.replace(
                old,
                matchers=old.matchers
                if body.matchers is None
                else tuple(m.to_domain() for m in body.matchers),
                starts_at=body.starts_at or old.starts_at,
                ends_at=body.ends_at if "ends_at" in sent else old.ends_at,
                schedule=body.schedule.to_domain()
                if body.schedule is not None
                else (None if "schedule" in sent else old.schedule),
            )
        comment = current["comment"] if body.comment is None else body.comment
        row = current
        if new != old or comment != current["comment"]:
            if new.ends_at != old.ends_at:
                check_future_end(new, now)
            row = await repo.update(change.conn, new, comment)
            change.record(
                "silence.update",
                silence_id,
                row["client_id"],
                version=row["version"],
                **described(new, comment),
            )
    return await changed(ctx, row, now, wait)


async def expire_silence(ctx: Ctx) -> None:
    """Ends the silence now (204); expiring one that is over already changes nothing."""
    silence_id = ctx.path_id("silence_id", "silence")
    async with audited(ctx) as change:
        current = await repo.get(change.conn, silence_id, ctx.principal.owner, for_update=True)
        if current is None:
            raise problems.not_found("silence")
        if _over(current, now_utc()):
            return
        row = await repo.expire(change.conn, silence_id)
        change.record("silence.expire", silence_id, row["client_id"], version=row["version"])


BASE = "/api/v1/silences"
ONE = BASE + "/{silence_id}"
TAG = "silences"
OPERATIONS = (
    Operation("POST", BASE, create_silence, "Create a silence or maintenance window (version 1)",
              TAG, response=Silence, status=201, body=SilenceCreate, query=WaitQuery,
              errors=(404, 409)),
    Operation("GET", BASE, list_silences, "List silences and windows", TAG, response=SilencePage,
              query=SilenceQuery),
    Operation("GET", ONE, get_silence, "Get a silence", TAG, response=Silence),
    Operation("PATCH", ONE, update_silence, "Update a silence; carry the version last read", TAG,
              response=Silence, body=SilenceUpdate, query=WaitQuery, errors=(409,)),
    Operation("DELETE", ONE, expire_silence, "Expire a silence now (it stays listed)", TAG,
              status=204),
)  # fmt: skip
