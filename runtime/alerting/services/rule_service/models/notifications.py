"""Notifications and their per-endpoint delivery records (read-only, plus re-drive)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from alerting.services.rule_service.models.common import ClientId, PageQuery
from alerting.web.models import ResponseModel

NotificationStatus = Literal["PENDING", "SENDING", "RETRY", "SENT", "FAILED"]


class Delivery(ResponseModel):
    endpoint_id: UUID
    endpoint_type: str
    status: str
    attempts: int
    last_error: str | None
    response_code: int | None
    created_at: datetime
    updated_at: datetime


class Notification(ResponseModel):
    notification_id: UUID
    client_id: str
    alert_id: str
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


class NotificationDetail(Notification):
    deliveries: list[Delivery]


class NotificationPage(ResponseModel):
    items: list[Notification]
    next_cursor: str | None


class NotificationQuery(PageQuery):
    client_id: ClientId | None = None
    status: NotificationStatus | None = None
