"""Notifications and their per-endpoint delivery records (read-only, plus re-drive)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, StringConstraints

from alerting.services.rule_service.models.common import ClientId, Cursor, PageQuery
from alerting.web.models import RequestModel, ResponseModel

NotificationStatus = Literal[
    "PENDING", "SENDING", "RETRY", "SENT", "FAILED", "SUPPRESSED", "GROUPED"
]
NotificationKind = Literal["firing", "resolved"]
# Ingest takes at most 128 characters (its ALERT_ID_PATTERN); a longer filter could
# match nothing.
AlertId = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class Delivery(ResponseModel):
    endpoint_id: UUID
    endpoint_type: str
    status: str
    attempts: int
    last_error: str | None
    response_code: int | None
    group_id: UUID | None = Field(
        description="the group it joined (a grouped endpoint: docs/grouping.md), else null"
    )
    digest_id: UUID | None = Field(
        description="the first digest that carries it, named when the digest is made (so"
        " a GROUPED delivery has one while that digest is retried); null while it waits"
        " for a digest, or ungrouped"
    )
    created_at: datetime
    updated_at: datetime


class Notification(ResponseModel):
    notification_id: UUID
    client_id: str
    alert_id: str
    kind: NotificationKind
    episode: int = Field(
        description="the alert's episode: 1, 2, ... (a firing after a resolved opens the next)"
    )
    firing_id: UUID | None = Field(
        description="resolved only: the firing notification of its episode"
    )
    silence_id: UUID | None = Field(
        description="the silence that suppressed it (kept after its release)"
    )
    severity: str
    source: str
    name: str
    context: dict[str, str]
    event_ts: datetime
    rule_ids: list[UUID]
    status: NotificationStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


class EpisodeRow(ResponseModel):
    """One notification of an episode, as the episode view lists it."""

    notification_id: UUID
    kind: NotificationKind
    status: NotificationStatus
    created_at: datetime
    sent_at: datetime | None


class NotificationDetail(Notification):
    deliveries: list[Delivery]
    episode_rows: list[EpisodeRow] = Field(
        description="the firing and (once there is one) resolved notification of its episode"
    )


class NotificationPage(ResponseModel):
    items: list[Notification]
    next_cursor: str | None


class DeliveryAttempt(ResponseModel):
    """One call of one endpoint for the notification (delivery_attempts)."""

    endpoint_id: UUID
    endpoint_type: str
    attempt: int = Field(description="the endpoint's delivery attempts after this call: 1, 2, ...")
    started_at: datetime = Field(description="when the call began (the sender's clock)")
    duration_ms: int = Field(description="until the answer, the timeout or the lease budget")
    outcome: Literal["SENT", "RETRY", "FAILED"]
    response_code: int | None = Field(
        description="the HTTP status or SMTP reply code; none when no answer came"
    )
    error: str | None
    response_excerpt: str | None = Field(
        description="the start of the answer (at most 1,024 characters): an HTTP body of a"
        " text type decoded as UTF-8, an SMTP reply; none for an empty or binary body"
    )
    digest_id: UUID | None = Field(
        description="the digest this call delivered it in; null for a message of its own"
    )


class DeliveryAttemptPage(ResponseModel):
    items: list[DeliveryAttempt]
    next_cursor: str | None


class NotificationQuery(PageQuery):
    client_id: ClientId | None = None
    status: NotificationStatus | None = None
    kind: NotificationKind | None = None
    alert_id: AlertId | None = Field(
        None, description="one alert's notifications; an admin gives client_id with it"
    )
    since: AwareDatetime | None = Field(None, description="only those created at or after this")
    until: AwareDatetime | None = Field(None, description="only those created before this")
    order: Literal["asc", "desc"] = Field(
        "asc",
        description="asc: oldest first (the default); desc: newest first. A cursor is"
        " valid only with the order that issued it",
    )


class BulkRetry(RequestModel):
    """Which FAILED notifications to re-drive: the list's filters (all optional; a client
    key's own notifications only), oldest first, at most ``limit`` per call. A sweep
    passes each call's ``next`` back as ``after``, so it visits each row once: a row it
    re-drove that failed again meanwhile is behind its position."""

    client_id: ClientId | None = None
    kind: NotificationKind | None = None
    alert_id: AlertId | None = Field(
        None, description="one alert's notifications; an admin gives client_id with it"
    )
    since: AwareDatetime | None = Field(None, description="only those created at or after this")
    until: AwareDatetime | None = Field(None, description="only those created before this")
    limit: int = Field(100, ge=1, le=1000, description="at most this many (default 100)")
    after: Cursor | None = Field(
        None,
        description="the previous call's next: continue the sweep after the rows it visited",
    )


class BulkRetryResult(ResponseModel):
    retried: int = Field(description="how many FAILED notifications this call re-drove")
    more: bool = Field(description="more FAILED ones match: call again for the next batch")
    next: str | None = Field(
        description="when more: pass it as after in the next call of this sweep (opaque)"
    )
