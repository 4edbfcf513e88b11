"""Delivery endpoints of a rule."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    AfterValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    SecretStr,
    StrictBool,
    StrictInt,
    StringConstraints,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from alerting.channels import registry
from alerting.domain.delivery_rate import MAX_BURST, MAX_RATE_PER_S, MIN_RATE_PER_S
from alerting.services.rule_service.models.common import PageQuery
from alerting.templates.render import MAX_SOURCE
from alerting.web.models import RequestModel, ResponseModel, label, storable


def _channel_name(value: object) -> str:
    if isinstance(value, str) and registry.find(value) is not None:
        return value
    # Worded as pydantic words a Literal's refusal: the answer did not change when the
    # names stopped being a Literal.
    names = [repr(n) for n in registry.names()]
    expected = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})


class _RegisteredChannel:
    """The type of an endpoint: a registered channel's name. Checked, and listed in the
    JSON schema, against the registry when used rather than fixed at import, so a
    channel module is all it takes to add a type."""

    def __get_pydantic_core_schema__(
        self, source: type[Any], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(_channel_name)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"enum": list(registry.names()), "type": "string"}


EndpointType = Annotated[str, _RegisteredChannel()]
# An address or URL: no control, separator or bidi character, and not blank (a tab or a
# line feed in one is a mistake or a header injection, never a real address).
EndpointValue = Annotated[
    str, StringConstraints(min_length=1, max_length=2048), AfterValidator(label)
]


# Template name -> Jinja2 source; which names a type takes, and the compile check, are
# the handler's (``endpoint_values.checked_templates``): they depend on the type.
Templates = Annotated[
    dict[
        Annotated[str, StringConstraints(min_length=1, max_length=64)],
        Annotated[str, StringConstraints(max_length=MAX_SOURCE), AfterValidator(storable)],
    ],
    Field(max_length=8),
]
TEMPLATES = (
    "sandboxed Jinja2 templates by name (email: subject, body; slack: text; webhook: body),"
    " replacing the channel's built-in rendering of that part; null for none"
    " (docs/integrations.md, Templates)"
)
# A caller-supplied credential (a PagerDuty routing key): a SecretStr, so a model's repr
# (a log line, a traceback) never shows it; OpenAPI marks it write-only. Which channels
# take one, and its shape, is the channel's (``Channel.credential``), checked by the API.
EndpointSecret = Annotated[SecretStr, Field(min_length=1, max_length=256)]
CREDENTIAL_HELP = (
    "the credential a channel needs, stored sealed and never returned: pagerduty, the"
    " integration's routing key (32 letters or digits); refused for a channel without one"
)

# Per-endpoint delivery rate (a token bucket per destination); null takes the channel's
# default (alerting.channels: Slack 1/s, burst 3; webhook and email the sender's setting).
# The bounds are the schema's (migration 0009), but for the floor (MIN_RATE_PER_S: the
# schema only says > 0); a NaN or infinity is refused as a number.
RatePerS = Annotated[float, Field(ge=MIN_RATE_PER_S, le=MAX_RATE_PER_S, allow_inf_nan=False)]
RateBurst = Annotated[StrictInt, Field(ge=1, le=MAX_BURST)]
RATE_PER_S = (
    "deliveries per second to this endpoint's destination; null: the channel's default"
    " (docs/operations.md, Delivery rates per channel)"
)
RATE_BURST = (
    "deliveries at once after a pause; null: one second's worth of rate_per_s when that"
    " is set, else the channel's default"
)

SEND_RESOLVED = (
    "also deliver the resolved notification of an episode whose firing one this endpoint"
    " received (default true)"
)


class EndpointCreate(RequestModel):
    type: EndpointType
    value: EndpointValue = Field(
        description="an email address, or an http(s) URL (pagerduty: the Events API v2 URL,"
        " https://events.pagerduty.com/v2/enqueue)"
    )
    send_resolved: StrictBool = Field(True, description=SEND_RESOLVED)
    templates: Templates | None = Field(None, description=TEMPLATES)
    secret: EndpointSecret | None = Field(None, description=CREDENTIAL_HELP)
    rate_per_s: RatePerS | None = Field(None, description=RATE_PER_S)
    rate_burst: RateBurst | None = Field(None, description=RATE_BURST)


class EndpointUpdate(RequestModel):
    value: EndpointValue | None = None
    enabled: bool | None = None
    send_resolved: StrictBool | None = Field(None, description=SEND_RESOLVED)
    templates: Templates | None = Field(
        None, description=TEMPLATES + "; absent keeps the current ones"
    )
    secret: EndpointSecret | None = Field(None, description=f"replaces it; {CREDENTIAL_HELP}")
    rate_per_s: RatePerS | None = Field(
        None, description=RATE_PER_S + "; absent keeps the current one"
    )
    rate_burst: RateBurst | None = Field(
        None, description=RATE_BURST + "; absent keeps the current one"
    )


class Endpoint(ResponseModel):
    endpoint_id: UUID
    rule_id: UUID
    type: EndpointType
    value: str
    enabled: bool
    send_resolved: bool = Field(description=SEND_RESOLVED)
    templates: dict[str, str] | None = Field(None, description=TEMPLATES)
    rate_per_s: float | None = Field(None, description=RATE_PER_S)
    rate_burst: int | None = Field(None, description=RATE_BURST)
    created_at: datetime
    updated_at: datetime
    disabled_reason: str | None = Field(
        None,
        description="why the platform disabled it (a webhook receiver answered 410 Gone);"
        " cleared by enabling it again",
    )
    disabled_at: datetime | None = Field(None, description="when the platform disabled it")


class EndpointCreated(Endpoint):
    signing_secret: str | None = Field(
        description="webhooks only: the HMAC signing secret, shown this once"
    )


class EndpointPage(ResponseModel):
    items: list[Endpoint]
    next_cursor: str | None


class EndpointQuery(PageQuery):
    pass
