"""Delivery endpoints of a rule."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints

from alerting.services.rule_service.models.common import PageQuery
from alerting.web.models import RequestModel, ResponseModel, storable

EndpointType = Literal["email", "slack", "webhook"]
EndpointValue = Annotated[
    str, StringConstraints(min_length=1, max_length=2048), AfterValidator(storable)
]


class EndpointCreate(RequestModel):
    type: EndpointType
    value: EndpointValue = Field(description="an email address, or an http(s) URL")


class EndpointUpdate(RequestModel):
    value: EndpointValue | None = None
    enabled: bool | None = None


class Endpoint(ResponseModel):
    endpoint_id: UUID
    rule_id: UUID
    type: EndpointType
    value: str
    enabled: bool
    created_at: datetime
    updated_at: datetime


class EndpointCreated(Endpoint):
    signing_secret: str | None = Field(
        description="webhooks only: the HMAC signing secret, shown this once"
    )


class EndpointPage(ResponseModel):
    items: list[Endpoint]
    next_cursor: str | None


class EndpointQuery(PageQuery):
    pass
