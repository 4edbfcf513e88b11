"""Notifications: list, inspect with per-endpoint deliveries and the episode's other
notification, list every delivery attempt, re-drive a FAILED one (not a firing one whose
resolved one went out)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from alerting.services.rule_service.api import paging
from alerting.services.rule_service.audit_trail import audited
from alerting.services.rule_service.cursor import InvalidCursor, Position
from alerting.services.rule_service.models.common import PageQuery
from alerting.services.rule_service.models.notifications import (
    BulkRetry,
    BulkRetryResult,
    Delivery,
    DeliveryAttempt,
    DeliveryAttemptPage,
    EpisodeRow,
    Notification,
    NotificationDetail,
    NotificationPage,
    NotificationQuery,
)
from alerting.services.rule_service.operation import Ctx, Operation
from alerting.services.rule_service.repo import notifications as repo
from alerting.web import problems

KIND = "notifications"
# A newest-first page's cursor is of another kind: passed with the other order it is a
# 422, never a page that skips or repeats rows (cursors from before order stay asc).
KIND_DESC = "notifications-desc"
ATTEMPTS_KIND = "delivery-attempts"
# A bulk re-drive sweep's position (the last row it visited, oldest first).
SWEEP_KIND = "notification-retry"


async def list_notifications(ctx: Ctx) -> NotificationPage:
    q = ctx.query(NotificationQuery)
    visible, client_id = scope(ctx, q.client_id, q.alert_id)
    if not visible:
        return NotificationPage(items=[], next_cursor=None)
    kind = KIND_DESC if q.order == "desc" else KIND
    rows = await repo.page(
        ctx.pool,
        client_id=client_id,
        status=q.status,
        kind=q.kind,
        alert_id=q.alert_id,
        since=q.since,
        until=q.until,
        after=_start_after(ctx, kind, q.cursor),
        limit=q.limit + 1,
        newest_first=q.order == "desc",
    )
    items, next_cursor = paging.split(ctx, kind, rows, q.limit, "notification_id")
    return NotificationPage(
        items=[Notification.model_validate(i) for i in items], next_cursor=next_cursor
    )


def scope(ctx: Ctx, client_id: str | None, alert_id: str | None) -> tuple[bool, str | None]:
    """Whether a list or a bulk re-drive can match anything, and the client it covers: a
    client key's own (asking for another's matches nothing, as any id it cannot see), or
    the admin's choice, None for every client."""
    owner = ctx.principal.owner
    if owner is not None:
        return client_id in (None, owner), owner
    if client_id is None and alert_id is not None:
        # Alert ids are the clients' own; the lookup by one goes through the episode
        # index, which starts with client_id. Indexing alert_id alone would cost every
        # insert of the aggregator's hot table for an admin's convenience.
        raise problems.invalid(
            "alert_id", "an admin filtering by alert_id must also give client_id"
        )
    return True, client_id


def _start_after(ctx: Ctx, kind: str, token: str | None) -> Position | None:
    """As paging.start_after, saying so when the cursor is of the other order."""
    if token is None:
        return None
    try:
        return ctx.deps.cursors.decode(kind, token)
    except InvalidCursor as exc:
        other = KIND if kind == KIND_DESC else KIND_DESC
        try:
            ctx.deps.cursors.decode(other, token)
        except InvalidCursor:
            raise problems.invalid("cursor", str(exc)) from None
        issued = "desc" if other == KIND_DESC else "asc"
        raise problems.invalid(
            "cursor", f"cursor was issued for order={issued}: pass the same order with it"
        ) from None


async def get_notification(ctx: Ctx) -> NotificationDetail:
    notification_id = ctx.path_id("notification_id", "notification")
    row = await repo.get(ctx.pool, notification_id, ctx.principal.owner)
    if row is None:
        raise problems.not_found("notification")
    deliveries = await repo.deliveries(ctx.pool, notification_id)
    episode = await repo.episode_rows(ctx.pool, row)
    return NotificationDetail.model_validate(
        {
            **dict(row),
            "deliveries": [Delivery.model_validate(dict(d)) for d in deliveries],
            "episode_rows": [EpisodeRow.model_validate(dict(e)) for e in episode],
        }
    )


async def list_attempts(ctx: Ctx) -> DeliveryAttemptPage:
    """The notification's attempts in the order they began; the notification is looked
    up as GET /notifications/{id} does (the caller's own, not a deleted client's: 404)."""
    q = ctx.query(PageQuery)
    notification_id = ctx.path_id("notification_id", "notification")
    if await repo.get(ctx.pool, notification_id, ctx.principal.owner) is None:
        raise problems.not_found("notification")
    after = _attempt_after(paging.start_after(ctx, ATTEMPTS_KIND, q.cursor))
    rows = await repo.attempts(ctx.pool, notification_id, after, q.limit + 1)
    items = [DeliveryAttempt.model_validate(dict(r)) for r in rows[: q.limit]]
    next_cursor = None
    if len(rows) > q.limit:
        # The position is (started_at, "endpoint_id attempt"): the page's order.
        last = items[-1]
        position = Position(last.started_at, f"{last.endpoint_id} {last.attempt}")
        next_cursor = ctx.deps.cursors.encode(ATTEMPTS_KIND, position)
    return DeliveryAttemptPage(items=items, next_cursor=next_cursor)


def _attempt_after(position: Position | None) -> tuple[datetime, UUID, int] | None:
    if position is None:
        return None
    endpoint_id, _, attempt = position.id.partition(" ")
    try:
        return position.created_at, UUID(endpoint_id), int(attempt)
    except ValueError:  # authentic (the MAC held) but not an attempts position
        raise problems.invalid("cursor", "cursor belongs to another list") from None


async def retry_notification(ctx: Ctx) -> Notification:
    notification_id = ctx.path_id("notification_id", "notification")
    owner = ctx.principal.owner
    row = None
    async with audited(ctx) as change:
        resolved = await repo.resolved_delivered(change.conn, notification_id, owner)
        if resolved is None:
            row = await repo.retry_failed(change.conn, notification_id, owner)
        if row is not None:
            change.record("notification.retry", notification_id, row["client_id"])
    if row is not None:
        return Notification.model_validate(dict(row))
    current = await repo.get(ctx.pool, notification_id, owner)
    if current is None:
        raise problems.not_found("notification")
    if current["status"] == "FAILED" and resolved is not None:
        raise problems.conflict(
            "the resolved notification of this episode is already "
            + ("delivered to an endpoint" if resolved == "SENT" else "being delivered")
            + f" ({resolved}): delivering the firing one now would reach its endpoints"
            " after the resolved one"
        )
    raise problems.conflict(
        f"only a FAILED notification can be retried; this one is {current['status']}"
    )


async def retry_matching(ctx: Ctx) -> BulkRetryResult:
    """Re-drive the FAILED notifications matching a filter, oldest first, at most
    ``limit`` per call, each as the single re-drive does (same checks, same statement,
    one audit row each), in one transaction. ``more`` says another call has work;
    ``next``, passed back as ``after``, continues the sweep after the rows this call
    visited, so a row re-driven here that fails again is not re-driven by the same sweep.
    Rows another call holds (a concurrent batch) are skipped, not waited for."""
    q = ctx.optional_body(BulkRetry)
    visible, client_id = scope(ctx, q.client_id, q.alert_id)
    if not visible:
        return BulkRetryResult(retried=0, more=False, next=None)
    owner = ctx.principal.owner
    covered = repo.RedriveFilter(client_id, q.kind, q.alert_id, q.since, q.until)
    retried = 0
    async with audited(ctx) as change:
        rows, last, more = await repo.failed_to_redrive(
            change.conn, covered, paging.start_after(ctx, SWEEP_KIND, q.after), q.limit
        )
        for candidate in rows:
            notification_id = candidate["notification_id"]
            if await repo.resolved_delivered(change.conn, notification_id, owner) is not None:
                continue
            row = await repo.retry_failed(change.conn, notification_id, owner)
            if row is not None:
                change.record("notification.retry", notification_id, row["client_id"])
                retried += 1
    following = ctx.deps.cursors.encode(SWEEP_KIND, last) if more and last else None
    return BulkRetryResult(retried=retried, more=more, next=following)


BASE = "/api/v1/notifications"
ONE = BASE + "/{notification_id}"
TAG = "notifications"
OPERATIONS = (
    Operation("GET", BASE, list_notifications, "List notifications", TAG,
              response=NotificationPage, query=NotificationQuery),
    Operation("GET", ONE, get_notification,
              "Get a notification with its deliveries and its episode's notifications", TAG,
              response=NotificationDetail),
    Operation("GET", ONE + "/attempts", list_attempts,
              "List a notification's delivery attempts, in the order they began", TAG,
              response=DeliveryAttemptPage, query=PageQuery),
    Operation("POST", BASE + "/retry", retry_matching,
              "Re-drive every FAILED notification matching a filter (at most limit per"
              " call; more: call again with after = next)", TAG,
              response=BulkRetryResult, body=BulkRetry, body_optional=True),
    Operation("POST", ONE + "/retry", retry_notification,
              "Re-drive a FAILED notification (status RETRY, due now)", TAG,
              response=Notification, status=202, errors=(409,)),
)  # fmt: skip
