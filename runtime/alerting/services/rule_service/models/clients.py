"""Clients (tenants)."""

from __future__ import annotations

from datetime import datetime

from alerting.services.rule_service.models.common import ClientId, Name, PageQuery
from alerting.web.models import RequestModel, ResponseModel


class ClientCreate(RequestModel):
    client_id: ClientId
    name: Name


class ClientUpdate(RequestModel):
    name: Name


class Client(ResponseModel):
    client_id: str
    name: str
    created_at: datetime
    updated_at: datetime


class ClientPage(ResponseModel):
    items: list[Client]
    next_cursor: str | None


class ClientQuery(PageQuery):
    pass
