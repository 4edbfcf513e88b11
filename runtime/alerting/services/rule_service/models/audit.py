"""The audit log (admin only): who changed what, when."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from alerting.services.rule_service.models.common import ClientId, PageQuery
from alerting.web.models import ResponseModel

# Every action the audit log records (``<resource type>.<verb>``); the list filter and the
# OpenAPI document take them from here, and ``audit_trail`` refuses any other.
AuditAction = Literal[
    "client.create", "client.update", "client.delete",
    "key.create", "key.update", "key.revoke",
    "rule.create", "rule.update", "rule.delete",
    "endpoint.create", "endpoint.update", "endpoint.delete",
    "silence.create", "silence.update", "silence.expire",
    "notification.retry",
]  # fmt: skip


class AuditRecord(ResponseModel):
    audit_id: UUID
    at: datetime
    actor: str = Field(description="'admin' or 'key:<prefix>' (the API key that acted)")
    actor_client_id: str | None = Field(description="the acting key's client")
    action: str
    resource_type: str
    resource_id: str
    client_id: str | None = Field(description="the client the resource belongs to")
    details: dict[str, Any]
    request_id: str | None


class AuditPage(ResponseModel):
    items: list[AuditRecord]
    next_cursor: str | None


class AuditQuery(PageQuery):
    client_id: ClientId | None = None
    action: AuditAction | None = None
    since: AwareDatetime | None = Field(None, description="only changes at or after this time")
    until: AwareDatetime | None = Field(None, description="only changes before this time")
