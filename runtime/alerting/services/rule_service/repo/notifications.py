"""notifications, deliveries and delivery attempts: read, and re-drive a FAILED one.

A deleted client's notifications are hidden from every statement here (``LIVE``) from
the moment of the deletion, while the purge removes them batch by batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from alerting.services.rule_service.cursor import Position
from alerting.services.rule_service.repo.sql import Executor, Where

COLUMNS = (
    "notification_id, client_id, alert_id, kind, episode, firing_id, silence_id, severity,"
    " source, name, context, event_ts, rule_ids, status, attempts, next_attempt_at,"
    " last_error, created_at, updated_at, sent_at"
)
EPISODE_COLUMNS = "notification_id, kind, status, created_at, sent_at"
# Not a tombstoned client's (migration 0004): one probe of a table holding only the
# clients whose purge is still running.
LIVE = "NOT EXISTS (SELECT 1 FROM deleted_clients dc WHERE dc.client_id = notifications.client_id)"
DELIVERY_COLUMNS = (
    "endpoint_id, endpoint_type, status, attempts, last_error, response_code, group_id,"
    " digest_id, created_at, updated_at"
)
ATTEMPT_COLUMNS = (
    "endpoint_id, endpoint_type, attempt, started_at, duration_ms, outcome, response_code,"
    " error, response_excerpt, digest_id"
)


async def get(conn: Executor, notification_id: UUID, owner: str | None) -> asyncpg.Record | None:
    where = Where().add("notification_id = {}", notification_id).equal("client_id", owner)
    where.add(LIVE)
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM notifications{where.sql()}", *where.args)


async def deliveries(conn: Executor, notification_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE notification_id = $1"
        " ORDER BY created_at, endpoint_id",
        notification_id,
    )


async def attempts(
    conn: Executor, notification_id: UUID, after: tuple[datetime, UUID, int] | None, limit: int
) -> list[asyncpg.Record]:
    """A page of the notification's delivery attempts, in the order they began (a
    range scan of the primary key's notification prefix: one notification's rows)."""
    where = Where().add("notification_id = {}", notification_id)
    if after is not None:
        where.add("(started_at, endpoint_id, attempt) > ({}, {}, {})", *after)
    return await conn.fetch(
        f"SELECT {ATTEMPT_COLUMNS} FROM delivery_attempts{where.sql()}"
        f" ORDER BY started_at, endpoint_id, attempt LIMIT {where.arg(limit)}",
        *where.args,
    )


async def episode_rows(conn: Executor, row: asyncpg.Record) -> list[asyncpg.Record]:
    """The firing and resolved notifications of ``row``'s episode (one probe of the
    episode's unique index), firing first."""
    return await conn.fetch(
        f"SELECT {EPISODE_COLUMNS} FROM notifications"
        " WHERE client_id = $1 AND alert_id = $2 AND episode = $3 ORDER BY kind",
        row["client_id"],
        row["alert_id"],
        row["episode"],
    )


async def page(
    conn: Executor,
    *,
    client_id: str | None,
    status: str | None,
    kind: str | None = None,
    alert_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: Position | None,
    limit: int,
    newest_first: bool = False,
) -> list[asyncpg.Record]:
    """A page in (created_at, notification_id) order, or its reverse with
    ``newest_first`` (the same indexes, scanned backward); ``after`` is the last row of
    the previous page in the same order."""
    where = _filter(client_id, status, kind, alert_id, since, until)
    where.after("created_at", "notification_id", after, "uuid", descending=newest_first)
    order = (
        "created_at DESC, notification_id DESC" if newest_first else "created_at, notification_id"
    )
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM notifications{where.sql()}"
        f" ORDER BY {order} LIMIT {where.arg(limit)}",
        *where.args,
    )


def _filter(
    client_id: str | None,
    status: str | None,
    kind: str | None,
    alert_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Where:
    """The list's filters (and not a deleted client's), shared by the bulk re-drive."""
    where = Where().equal("client_id", client_id).equal("status", status)
    where.equal("kind", kind).equal("alert_id", alert_id).add(LIVE)
    if since is not None:
        where.add("created_at >= {}", since)
    if until is not None:
        where.add("created_at < {}", until)
    return where


# A firing row whose resolved one reached an endpoint or is being delivered (SENDING, or
# GROUPED: its group's digest will deliver it): a re-drive refuses it
# (``resolved_delivered``).
_NOT_BLOCKED = (
    "NOT EXISTS (SELECT 1 FROM notifications r WHERE r.firing_id ="
    " notifications.notification_id AND (r.status IN ('SENDING', 'GROUPED') OR (r.status = 'SENT'"
    " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = r.notification_id"
    " AND d.status = 'SENT'))))"
)


@dataclass(frozen=True)
class RedriveFilter:
    """Which FAILED notifications a bulk re-drive covers (the list's filters but status)."""

    client_id: str | None = None
    kind: str | None = None
    alert_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _failed(f: RedriveFilter, after: Position | None) -> Where:
    """FAILED rows a re-drive would accept, after ``after``. The status is a literal, not
    a parameter: a prepared statement's generic plan (asyncpg's, from its sixth run) can
    use the partial index only when its predicate is in the statement's text."""
    where = _filter(f.client_id, None, f.kind, f.alert_id, f.since, f.until)
    where.add("status = 'FAILED'").after("created_at", "notification_id", after, "uuid")
    return where.add(_NOT_BLOCKED)


def redrive_candidates(
    f: RedriveFilter, after: Position | None, limit: int
) -> tuple[str, list[object]]:
    """The statement (and its arguments) that picks and locks a bulk re-drive's batch.

    FAILED rows after the sweep's position ``after``, oldest first, so a sweep visits
    each row once. ``FOR NO KEY UPDATE ... SKIP LOCKED`` (the lock the re-drive's UPDATE
    takes anyway, and no stronger, so the sender's foreign-key checks are not blocked):
    a batch of another operator is skipped, not waited for, and never re-driven twice.
    Without a client filter the partial index notifications_failed_idx (migration 0011)
    holds only FAILED rows, in this order: the scan never reads the sent history."""
    where = _failed(f, after)
    sql = (
        f"SELECT notification_id, created_at FROM notifications{where.sql()}"
        f" ORDER BY created_at, notification_id LIMIT {where.arg(limit)}"
        " FOR NO KEY UPDATE OF notifications SKIP LOCKED"
    )
    return sql, where.args


async def failed_to_redrive(
    conn: Executor, f: RedriveFilter, after: Position | None, limit: int
) -> tuple[list[asyncpg.Record], Position | None, bool]:
    """A bulk re-drive's batch, locked in the caller's transaction (``redrive_candidates``):
    FAILED notifications matching the filters that a re-drive would accept, leaving out a
    firing one whose resolved one reached an endpoint or is being delivered (re-checked
    under its lock by ``resolved_delivered``) so ``more`` never points at rows refused on
    every call. Also the sweep's position after the batch, and whether more such rows
    follow it: probed without a lock, so the batch never holds a row it does not re-drive
    (another operator's call gets it)."""
    sql, args = redrive_candidates(f, after, limit)
    rows = await conn.fetch(sql, *args)
    last = after
    if rows:
        last = Position(rows[-1]["created_at"], str(rows[-1]["notification_id"]))
    where = _failed(f, last)
    more = await conn.fetchval(
        f"SELECT EXISTS (SELECT 1 FROM notifications{where.sql()})", *where.args
    )
    return list(rows), last, bool(more)


async def resolved_delivered(
    conn: Executor, notification_id: UUID, owner: str | None
) -> str | None:
    """The status of the resolved notification that follows firing ``notification_id``
    when it reached an endpoint (SENT with a SENT delivery) or is being delivered
    (SENDING, or GROUPED: joined to a group, its digest delivers it): re-delivering the
    firing one then would reach its endpoints after their resolved message. None
    otherwise, also for a resolved one SENT to nobody (its firing one reached no
    endpoint, so it had no target): nobody heard of the recovery.

    The resolved row is locked (in the caller's transaction, until its re-drive
    commits): a sender's claim skips a locked row (``SKIP LOCKED``) and finds the firing
    row not final once the re-drive is committed, and a claim that came first is seen as
    SENDING here. With the claim's own check (the firing row final), a re-drive and a
    resolved delivery never both go ahead."""
    where = Where().add("r.firing_id = {}", notification_id).equal("r.client_id", owner)
    found = await conn.fetchrow(
        "SELECT r.status, EXISTS (SELECT 1 FROM deliveries d"
        " WHERE d.notification_id = r.notification_id AND d.status = 'SENT') AS reached"
        f" FROM notifications r{where.sql()} FOR NO KEY UPDATE OF r",
        *where.args,
    )
    if found is None:
        return None
    status: str = found["status"]
    if status in ("SENDING", "GROUPED") or (status == "SENT" and found["reached"]):
        return status
    return None


async def retry_failed(
    conn: Executor, notification_id: UUID, owner: str | None
) -> asyncpg.Record | None:
    """FAILED -> RETRY, due now, with a fresh attempt budget (an operator re-drive).

    One statement, so two concurrent re-drives cannot both succeed and a notification
    the sender is working on is never touched. In the same statement its FAILED
    deliveries become RETRY, so the sender calls the (presumably fixed) endpoints
    again, while SENT ones stay SENT and are never called twice. None when not FAILED.
    """
    where = Where().add("notification_id = {}", notification_id).equal("client_id", owner)
    where.add("status = 'FAILED'").add(LIVE)
    return await conn.fetchrow(
        "WITH redriven AS ("
        " UPDATE notifications SET status = 'RETRY', next_attempt_at = now(), attempts = 0,"
        " claimed_by = NULL, claim_expires_at = NULL, updated_at = now()"
        f"{where.sql()} RETURNING {COLUMNS}"
        "), reopened AS ("
        " UPDATE deliveries d SET status = 'RETRY', updated_at = now() FROM redriven r"
        " WHERE d.notification_id = r.notification_id AND d.status = 'FAILED')"
        " SELECT * FROM redriven",
        *where.args,
    )
