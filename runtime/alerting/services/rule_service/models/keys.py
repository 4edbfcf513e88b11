"""API keys: the token is returned once at creation; lists never show secrets."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from alerting.services.rule_service.models.common import Description, PageQuery
from alerting.web.key_store import KeyScope
from alerting.web.models import RequestModel, ResponseModel


class ClientKeyCreate(RequestModel):
    description: Description = ""


class IngestKeyCreate(RequestModel):
    scope: Literal["ingest"]
    description: Description = ""


class ApiKey(ResponseModel):
    key_id: UUID
    prefix: str
    scope: KeyScope
    client_id: str | None
    description: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKey):
    token: str = Field(description="the bearer token, shown this once; only its hash is kept")


class ApiKeyPage(ResponseModel):
    items: list[ApiKey]
    next_cursor: str | None


class ApiKeyQuery(PageQuery):
    scope: KeyScope | None = None
