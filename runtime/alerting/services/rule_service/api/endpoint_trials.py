"""Preview an endpoint's rendering and send it a test notification.

Both render a sample alert as the sender would render a notification of the endpoint's
rule (``alerting.templates`` through the channel); the preview sends nothing, the test
send delivers one notification marked as a test (``OutgoingNotification.test``) with a
synthetic id that no notifications row has: nothing is stored but the audit record.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from typing import Literal

import asyncpg

from alerting.channels import registry
from alerting.channels.base import Outbound
from alerting.channels.http_url import HttpRequest
from alerting.channels.mail_message import MailMessage
from alerting.domain.delivery import Attempt, Outcome, Target
from alerting.domain.delivery_messages import OutgoingNotification
from alerting.sealed import ENDPOINT_PREVIOUS_SECRET, ENDPOINT_SIGNING_SECRET, Keyring, SealError
from alerting.services.rule_service import endpoint_values, test_send_throttle, test_sends
from alerting.services.rule_service.api.endpoints import ONE, TAG
from alerting.services.rule_service.audit_trail import audited
from alerting.services.rule_service.models.endpoint_trials import (
    EndpointPreview,
    PreviewRequest,
    SampleAlert,
    TestRequest,
    TestSendResult,
)
from alerting.services.rule_service.operation import Ctx, Operation
from alerting.services.rule_service.repo import endpoints as repo
from alerting.templates.render import TemplateProblem, render
from alerting.web import problems

log = logging.getLogger(__name__)
SAMPLE_ALERT_ID = "sample-alert"
# A test send is a call (its target has no grouping policy), never a join: GROUPED is
# not among its outcomes.
TEST_OUTCOMES: dict[Outcome, Literal["SENT", "RETRY", "FAILED"]] = {
    Outcome.SENT: "SENT",
    Outcome.RETRY: "RETRY",
    Outcome.FAILED: "FAILED",
}


def sample(row: asyncpg.Record, alert: SampleAlert, *, test: bool) -> OutgoingNotification:
    return OutgoingNotification(
        notification_id=str(uuid.uuid4()),
        client_id=row["client_id"],
        alert_id=SAMPLE_ALERT_ID,
        severity=alert.severity,
        source=alert.source,
        name=alert.name,
        event_ts=int(time.time()),
        rule_ids=(str(row["rule_id"]),),
        attempts=1,
        context=dict(alert.context),
        kind=alert.status,
        test=test,
    )


class _NoTransport:
    """A preview's transports: rendering never reaches them; sending would be a bug."""

    async def post(self, url: str, body: bytes, headers: dict[str, str], now_s: float) -> Attempt:
        raise AssertionError("a preview sends nothing")

    async def send(self, message: MailMessage, recipient: str) -> Attempt:
        raise AssertionError("a preview sends nothing")

    async def refusal(self, url: str) -> str | None:
        raise AssertionError("a preview sends nothing")


async def _visible(ctx: Ctx) -> asyncpg.Record:
    row = await repo.get(ctx.pool, ctx.path_id("endpoint_id", "endpoint"), ctx.principal.owner)
    if row is None:
        raise problems.not_found("endpoint")
    return row


def _target(
    row: asyncpg.Record,
    templates: Mapping[str, str] | None,
    secret: str | None = None,
    previous: str | None = None,
) -> Target:
    ids = (str(row["endpoint_id"]),)
    return Target(row["type"], row["value"], secret, ids, None, previous, templates)


def _shown(message: object) -> dict[str, str]:
    """A rendered message as the preview shows it, by what the channel renders."""
    if isinstance(message, MailMessage):
        return {"subject": str(message["Subject"]), "body": message.get_content()}
    if isinstance(message, HttpRequest):
        return {"body": message.body.decode()}
    return {"message": str(message)}


async def preview_endpoint(ctx: Ctx) -> EndpointPreview:
    row = await _visible(ctx)
    body = ctx.optional_body(PreviewRequest)
    templates = row["templates"]
    if body.templates is not None:
        templates = endpoint_values.checked_templates(row["type"], body.templates)
    n = sample(row, body.alert, test=False)
    # Each template strictly first: the sender would fall back to the built-in part,
    # the preview says why instead.
    for name, source in sorted((templates or {}).items()):
        try:
            render(row["type"], name, source, n)
        except TemplateProblem as problem:
            raise problems.invalid(f"templates.{name}", str(problem)) from None
    channel = registry.get(row["type"])
    none = _NoTransport()
    outbound = Outbound(none, none, none, ctx.deps.settings.smtp.sender, time.time)
    # The preview never opens a credential: a placeholder shows where it goes.
    credential = channel.credential
    shown_secret = None if credential is None else f"<{credential.what.removeprefix('a ')}>"
    target = _target(row, templates, shown_secret)
    message = channel.render(n, target, outbound, time.time())
    return EndpointPreview(
        type=row["type"], rendered=_shown(message), templated=sorted(templates or ())
    )


async def test_endpoint(ctx: Ctx) -> TestSendResult:
    row = await _visible(ctx)
    body = ctx.optional_body(TestRequest)
    wait_s = test_send_throttle.TEST_SENDS.wait_s(row["endpoint_id"])
    if wait_s > 0:
        raise problems.too_many_requests(
            f"one test send per endpoint every {test_send_throttle.INTERVAL_S:g} s", wait_s
        )
    n = sample(row, body.alert, test=True)
    secret, previous = await _secrets(ctx, row["endpoint_id"])
    target = _target(row, row["templates"], secret, previous)
    attempt = await test_sends.send(ctx.deps.settings, n, target)
    outcome = TEST_OUTCOMES[attempt.outcome]
    async with audited(ctx) as change:
        change.record(
            "endpoint.test",
            row["endpoint_id"],
            row["client_id"],
            notification_id=n.notification_id,
            outcome=outcome,
            response_code=attempt.response_code,
        )
    return TestSendResult(
        notification_id=n.notification_id,
        outcome=outcome,
        response_code=attempt.response_code,
        error=attempt.error,
    )


async def _secrets(ctx: Ctx, endpoint_id: uuid.UUID) -> tuple[str | None, str | None]:
    """The endpoint's signing secret and rotated-out one (only while still valid), opened
    as the sender opens them. One that does not open is None, which the test send turns
    into a failure naming ALERTING_SECRET_KEYS (never an unsigned request)."""
    stored = await repo.sealed_secrets(ctx.pool, endpoint_id)
    if stored is None:
        raise problems.not_found("endpoint")  # deleted meanwhile
    keyring = Keyring.from_settings(ctx.deps.settings)
    columns = (ENDPOINT_SIGNING_SECRET, ENDPOINT_PREVIOUS_SECRET)
    opened: list[str | None] = []
    for value, column in zip(stored, columns, strict=True):
        try:
            opened.append(
                None if value is None else keyring.open(value, column.binding(endpoint_id))
            )
        except SealError:
            opened.append(None)
    return opened[0], opened[1]


OPERATIONS = (
    Operation("POST", f"{ONE}/preview", preview_endpoint,
              "Render what the endpoint's channel would send for a sample alert, without"
              " sending it", TAG, response=EndpointPreview, body=PreviewRequest,
              body_optional=True, carries_secret=True),
    Operation("POST", f"{ONE}/test", test_endpoint,
              "Send the endpoint one test notification now and answer the attempt's outcome"
              f" (one per endpoint every {test_send_throttle.INTERVAL_S:g} s, per rule-service"
              " replica; 429 with Retry-After otherwise). A 410 Gone from the receiver is"
              " answered as FAILED and, unlike a delivery's, does not disable the endpoint",
              TAG, response=TestSendResult, body=TestRequest, body_optional=True),
)  # fmt: skip
