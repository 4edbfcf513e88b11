"""Groups of grouped notifications and the digests that carried them (docs/grouping.md).

Read-only: the sender opens, flushes and closes groups; the API shows what it did.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from alerting.services.rule_service.models.common import ClientId, PageQuery
from alerting.services.rule_service.models.notifications import NotificationKind
from alerting.web.models import ResponseModel

GroupState = Literal["open", "closed"]
DigestStatus = Literal["SENDING", "RETRY", "SENT", "FAILED"]
# How many of a group's digests its detail shows, newest first.
LATEST_DIGESTS = 50


class Group(ResponseModel):
    group_id: UUID
    client_id: str
    rule_id: UUID
    endpoint_id: UUID
    endpoint_type: str | None = Field(
        description="the endpoint's channel; null once the endpoint is deleted"
    )
    kind: NotificationKind = Field(description="a digest never mixes firing and resolved")
    labels: dict[str, str] = Field(description="the values of the rule's group_by fields")
    state: GroupState
    opened_at: datetime
    due_at: datetime | None = Field(description="the next flush; null: nothing to send yet")
    last_flushed_at: datetime | None
    closed_at: datetime | None
    flushes: int
    pending: int = Field(description="members waiting for a digest")
    members: int = Field(description="notifications that joined it")
    digests: int = Field(description="digests made for it")


class GroupPage(ResponseModel):
    items: list[Group]
    next_cursor: str | None


class GroupQuery(PageQuery):
    client_id: ClientId | None = None
    rule_id: UUID | None = None
    endpoint_id: UUID | None = None
    state: GroupState | None = None


class Digest(ResponseModel):
    digest_id: UUID
    seq: int = Field(description="1, 2, ... within its group")
    repeat: bool = Field(description="a re-announcement of members still firing")
    members: int
    status: DigestStatus
    attempts: int
    last_error: str | None
    response_code: int | None
    created_at: datetime
    sent_at: datetime | None


class GroupDetail(Group):
    latest_digests: list[Digest] = Field(
        description=f"its latest {LATEST_DIGESTS} digests, newest first"
    )


class DigestMember(ResponseModel):
    notification_id: UUID
    alert_id: str
    kind: NotificationKind
    episode: int
    severity: str
    source: str
    name: str
    status: str | None = Field(
        description="its delivery to the group's endpoint (GROUPED, SENT, FAILED, RETRY)"
    )


class DigestDetail(Digest):
    group_id: UUID
    notifications: list[DigestMember] = Field(
        description="the notifications it carries, in the digest's order (those removed"
        " by retention are left out)"
    )
