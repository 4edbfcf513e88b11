"""silences: each change writes its outbox row (entity SILENCE) in the same transaction.

A row stores what ``alerting.domain.silences`` needs: matchers as JSON, a window's zone
and its weekly ranges in days (0 = Monday) and minutes; ``to_domain`` reads it back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from alerting.domain import silences as domain
from alerting.domain.model import ChangedEntity, RuleAction
from alerting.services.rule_service.cursor import Position
from alerting.services.rule_service.repo import outbox
from alerting.services.rule_service.repo.sql import Conn, Executor, Where

log = logging.getLogger(__name__)
# A stored row: what asyncpg returns, or a plain mapping (tests).
Row = asyncpg.Record | Mapping[str, Any]
COLUMNS = (
    "silence_id, client_id, matchers, starts_at, ends_at, time_zone, weekly, comment,"
    " created_by, version, created_at, updated_at, expired_at"
)
# Bounds a time can tell: a window between its ranges needs the domain to tell pending
# from active, so the state filters select by these and the handler refines.
# Not over, written as silences_client_end_idx's expression (migration 0006): ended
# silences are kept, so a client's history grows, and this reads only the rest.
END = "coalesce(ends_at, 'infinity'::timestamptz)"
NOT_OVER = END + " > {now}"
STARTED = f"starts_at <= {{now}} AND {NOT_OVER}"
STATE_SQL = {
    "expired": "ends_at <= {now}",
    "active": STARTED,
    "pending": f"(starts_at > {{now}} OR (time_zone IS NOT NULL AND {STARTED}))",
}


def to_domain(row: Row) -> domain.Silence:
    """The domain silence of a stored row; ``InvalidSilence`` when it no longer holds."""
    try:
        return _to_domain(row)
    except domain.InvalidSilence:
        raise
    except (KeyError, TypeError, ValueError) as exc:  # an unknown op, a malformed entry
        raise domain.InvalidSilence("silence", f"malformed stored fields: {exc!r}") from None


def readable(row: Row) -> domain.Silence | None:
    """``to_domain``, or None (logged) for a row the domain refuses: stored silences were
    validated when written, but one may not hold any more (a zone gone from the time
    zone database, a regex a newer RE2 refuses). Such a silence mutes nothing (the
    rule-updater leaves it out of the snapshot too), and must not fail every other."""
    try:
        return to_domain(row)
    except domain.InvalidSilence as exc:
        log.error("silence %s no longer validates (%s): it mutes nothing", row["silence_id"], exc)
        return None


def _to_domain(row: Row) -> domain.Silence:
    schedule = None
    if row["time_zone"] is not None:
        ranges = tuple(
            domain.WeeklyRange(frozenset(r["days"]), r["start_minute"], r["end_minute"])
            for r in row["weekly"]
        )
        schedule = domain.Schedule(row["time_zone"], ranges)
    return domain.Silence(
        silence_id=str(row["silence_id"]),
        client_id=row["client_id"],
        matchers=tuple(
            domain.Matcher(m["name"], domain.MatchOp(m["op"]), m["value"]) for m in row["matchers"]
        ),
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        schedule=schedule,
    )


def _stored(silence: domain.Silence) -> tuple[Any, ...]:
    """The values of matchers, starts_at, ends_at, time_zone, weekly, in that order."""
    matchers = [{"name": m.name, "op": m.op.value, "value": m.value} for m in silence.matchers]
    schedule = silence.schedule
    weekly = None
    if schedule is not None:
        weekly = [
            {"days": sorted(r.days), "start_minute": r.start_minute, "end_minute": r.end_minute}
            for r in schedule.ranges
        ]
    zone = None if schedule is None else schedule.time_zone
    return (matchers, silence.starts_at, silence.ends_at, zone, weekly)


def _entry(row: asyncpg.Record, action: RuleAction, version: int) -> outbox.OutboxEntry:
    return outbox.OutboxEntry(
        row["silence_id"], row["client_id"], action, version, ChangedEntity.SILENCE
    )


async def insert(
    conn: Conn, silence: domain.Silence, comment: str, created_by: str
) -> asyncpg.Record:
    async with conn.transaction():
        row: asyncpg.Record | None = await conn.fetchrow(
            "INSERT INTO silences (silence_id, client_id, matchers, starts_at, ends_at,"
            " time_zone, weekly, comment, created_by)"
            f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLUMNS}",
            UUID(silence.silence_id),
            silence.client_id,
            *_stored(silence),
            comment,
            created_by,
        )
        assert row is not None
        await outbox.record(conn, [_entry(row, RuleAction.CREATED, row["version"])])
    return row


async def get(
    conn: Executor, silence_id: UUID, owner: str | None, *, for_update: bool = False
) -> asyncpg.Record | None:
    where = Where().add("silence_id = {}", silence_id).equal("client_id", owner)
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM silences{where.sql()}{lock}", *where.args)


def page_query(
    *,
    client_id: str | None,
    state: str | None,
    now: datetime,
    after: Position | None,
    limit: int,
) -> tuple[str, list[Any]]:
    """The statement of ``page`` and its arguments: a client's pages follow
    silences_client_idx, an admin's without one silences_created_idx."""
    where = Where().equal("client_id", client_id)
    if state is not None:
        where.conditions.append(STATE_SQL[state].format(now=where.arg(now)))
    where.after("created_at", "silence_id", after, "uuid")
    sql = (
        f"SELECT {COLUMNS} FROM silences{where.sql()}"
        f" ORDER BY created_at, silence_id LIMIT {where.arg(limit)}"
    )
    return sql, where.args


async def page(
    conn: Executor,
    *,
    client_id: str | None,
    state: str | None,
    now: datetime,
    after: Position | None,
    limit: int,
) -> list[asyncpg.Record]:
    sql, args = page_query(client_id=client_id, state=state, now=now, after=after, limit=limit)
    return await conn.fetch(sql, *args)


async def update(
    conn: Conn, silence: domain.Silence, comment: str, action: RuleAction = RuleAction.UPDATED
) -> asyncpg.Record:
    """New values and version + 1; call in the transaction that locked the row
    (``get(..., for_update=True)``) and checked its version."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "UPDATE silences SET matchers = $2, starts_at = $3, ends_at = $4, time_zone = $5,"
        " weekly = $6, comment = $7, version = version + 1, updated_at = now()"
        f" WHERE silence_id = $1 RETURNING {COLUMNS}",
        UUID(silence.silence_id),
        *_stored(silence),
        comment,
    )
    assert row is not None
    await outbox.record(conn, [_entry(row, action, row["version"])])
    return row


async def expire(conn: Conn, silence_id: UUID) -> asyncpg.Record:
    """End a locked, not yet ended silence now. One that has not started ends before it
    would have (its start moves back just before now, so the end stays after it)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "UPDATE silences SET ends_at = now(), expired_at = now(),"
        " starts_at = LEAST(starts_at, now() - interval '1 millisecond'),"
        " version = version + 1, updated_at = now()"
        f" WHERE silence_id = $1 RETURNING {COLUMNS}",
        silence_id,
    )
    assert row is not None
    await outbox.record(conn, [_entry(row, RuleAction.DELETED, row["version"])])
    return row


def active_query(
    client_ids: Sequence[str] | None, now: datetime, limit: int
) -> tuple[str, list[Any]]:
    """The statement of ``active`` and its arguments: per listed client, a range of
    silences_client_end_idx (the silences not over), never the client's history, in
    that index's order (which ones a ``limit`` reached leaves out is logged anyway)."""
    where = Where()
    if client_ids is not None:
        where.add("client_id = ANY({}::text[])", list(client_ids))
    where.conditions.append(STARTED.format(now=where.arg(now)))
    sql = (
        f"SELECT {COLUMNS} FROM silences{where.sql()}"
        f" ORDER BY client_id, {END}, silence_id LIMIT {where.arg(limit)}"
    )
    return sql, where.args


async def active(
    conn: Executor, client_ids: Sequence[str] | None, now: datetime, limit: int
) -> list[asyncpg.Record]:
    """Silences of these clients (None: all) started and not over at ``now``; windows
    among them may be between their ranges (the domain tells)."""
    sql, args = active_query(client_ids, now, limit)
    return await conn.fetch(sql, *args)


async def by_ids(conn: Executor, silence_ids: Sequence[UUID]) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM silences WHERE silence_id = ANY($1::uuid[])", list(silence_ids)
    )
