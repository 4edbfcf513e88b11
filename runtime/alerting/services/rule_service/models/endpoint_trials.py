"""Trying an endpoint out: a preview of what its channel would send, and a test send."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from alerting.services.rule_service.models.common import (
    MAX_CONTEXT_ENTRIES,
    AlertSeverity,
    ContextKey,
    ContextValue,
    MatchText,
)
from alerting.services.rule_service.models.endpoints import Templates
from alerting.web.models import RequestModel, ResponseModel


class SampleAlert(RequestModel):
    """An alert to render for; every field has a default, so ``{}`` is a sample too."""

    severity: AlertSeverity = "HIGH"
    source: MatchText = "sample-service"
    name: MatchText = "sample_alert"
    status: Literal["firing", "resolved"] = "firing"
    context: dict[ContextKey, ContextValue] = Field(
        default_factory=lambda: {"host": "sample-host"}, max_length=MAX_CONTEXT_ENTRIES
    )


class PreviewRequest(RequestModel):
    alert: SampleAlert = Field(default_factory=SampleAlert)
    templates: Templates | None = Field(
        None, description="unsaved templates to try instead of the endpoint's own"
    )


class TestRequest(RequestModel):
    alert: SampleAlert = Field(default_factory=SampleAlert)


class EndpointPreview(ResponseModel):
    type: str
    rendered: dict[str, str] = Field(
        description="what the channel would send: email: subject and body; slack, teams,"
        " pagerduty and webhook: the request body (a PagerDuty routing key shown as"
        ' "<PagerDuty routing key>")'
    )
    templated: list[str] = Field(description="the template names used (others: built-in)")


class TestSendResult(ResponseModel):
    notification_id: str = Field(description="the synthetic id the test notification carried")
    outcome: Literal["SENT", "RETRY", "FAILED"] = Field(
        description="SENT, or how the sender would have judged the failure (RETRY: transient)"
    )
    response_code: int | None
    error: str | None
