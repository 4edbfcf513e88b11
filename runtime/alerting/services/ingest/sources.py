"""Prometheus' and Alertmanager's payloads -> domain alerts, or a 422 naming the field.

``POST /api/v2/alerts`` takes the Alertmanager API v2 alert list Prometheus posts;
``POST /api/v1/integrations/alertmanager`` takes the Alertmanager webhook payload
(version 4; Grafana's webhook contact point sends a superset). Unknown fields are
ignored, unlike the native API's: these payloads are not ours, and a field a newer
Prometheus or Grafana adds must not turn their posts into 422s (which they drop for
good).

Each alert is mapped (``alerting.domain.label_mapping``) and then validated like a
native alert (``AlertIn``). Its context is cleaned and cut to fit first
(``alerting.domain.foreign_context``): a 4xx is re-sent unchanged at every
group_interval or resend_delay, so only what cannot be mapped (the name, a time, the
fingerprint) is refused, and the error names where the value came from
(``alerts[2].labels.alertname``), not the native field.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from prometheus_client import Counter
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from alerting.domain.foreign_context import ContextLimits, Loc
from alerting.domain.label_mapping import (
    DEFAULT_MAPPING,
    LabelMapping,
    MappedAlert,
    MappingError,
    SourceAlert,
    map_alert,
)
from alerting.domain.model import Alert, AlertStatus
from alerting.services.ingest.models import (
    MAX_ALERTS,
    MAX_CONTEXT_ENTRIES,
    MAX_CONTEXT_KEY_CHARS,
    MAX_CONTEXT_VALUE_CHARS,
    AlertIn,
)
from alerting.web import problems
from alerting.web.problems import ApiError

PROMETHEUS_SOURCE = "prometheus"  # the source of an alert with no service or job label
ALERTMANAGER_SOURCE = "alertmanager"
GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)  # what Alertmanager sends for "no endsAt"
CONTEXT_LIMITS = ContextLimits(MAX_CONTEXT_ENTRIES, MAX_CONTEXT_KEY_CHARS, MAX_CONTEXT_VALUE_CHARS)
# RFC 3339's date-time (section 5.6): "T" and "Z" in either case, any fraction, and an
# offset; Python's fromisoformat alone also takes week dates, basic formats, a space.
RFC3339_DATE_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2}(?:\.\d+)?)([Zz]|[+-]\d{2}:\d{2})?"
)
NOT_RFC3339 = "is not an RFC 3339 timestamp (YYYY-MM-DDTHH:MM:SS[.fraction] and Z or ±HH:MM)"

log = logging.getLogger(__name__)
CONTEXT_DROPPED = Counter(
    "alerting_ingest_context_entries_dropped_total",
    "Context entries of Prometheus/Alertmanager alerts left out to fit the limit",
    ["route"],
)
TRUNCATED_ALERTS = Counter(
    "alerting_ingest_alertmanager_truncated_alerts_total",
    "Alerts Alertmanager left out of its webhook posts (its truncatedAlerts: max_alerts)",
)


def _timestamp(value: Any) -> float | None:
    """RFC 3339 (Go writes nanoseconds; Python keeps microseconds) -> unix seconds;
    absent, empty or Go's zero time -> None. The range is checked with the alert."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PydanticCustomError("invalid", "must be an RFC 3339 timestamp")
    found = RFC3339_DATE_TIME.fullmatch(value)
    if found is None:
        raise PydanticCustomError("invalid", NOT_RFC3339)
    date, time_of_day, offset = found.groups()
    if offset is None:
        raise PydanticCustomError("invalid", "needs a UTC offset (Z or ±HH:MM)")
    offset = "+00:00" if offset in "Zz" else offset
    try:
        parsed = datetime.fromisoformat(f"{date}T{time_of_day}{offset}")
    except ValueError as exc:  # month 13, hour 25, a leap second: Python holds no :60
        raise PydanticCustomError("invalid", f"is not a valid date and time ({exc})") from None
    return None if parsed == GO_ZERO_TIME else parsed.timestamp()


def _count(value: Any) -> int:
    """truncatedAlerts is informational: a value that is not a count reads as 0, never
    a 422 for the alerts it came with."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


# What the payload carries (the model holds unix seconds); Go's zero time means "none".
RFC3339 = {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}
Timestamp = Annotated[float | None, BeforeValidator(_timestamp), WithJsonSchema(RFC3339)]


class ForeignModel(BaseModel):
    """Someone else's payload: extra fields are ignored, field names are theirs."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class PrometheusAlert(ForeignModel):
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: Timestamp = Field(None, alias="startsAt")
    ends_at: Timestamp = Field(
        None,
        alias="endsAt",
        description="on /api/v2/alerts: in the past (by ingest's clock) = resolved",
    )
    generator_url: str = Field("", alias="generatorURL")

    def source_alert(self) -> SourceAlert:
        return SourceAlert(
            self.labels, self.annotations, self.starts_at, self.ends_at, self.generator_url
        )


class PrometheusAlerts(RootModel[list[PrometheusAlert]]):
    """The body of POST /api/v2/alerts: a JSON array of alerts."""

    root: list[PrometheusAlert] = Field(min_length=1, max_length=MAX_ALERTS)


class WebhookAlert(PrometheusAlert):
    status: AlertStatus | None = Field(None, description="firing or resolved: this alert's own")
    fingerprint: str | None = Field(None, description="the alert's id when given")

    def source_alert(self) -> SourceAlert:
        return SourceAlert(
            self.labels,
            self.annotations,
            self.starts_at,
            self.ends_at,
            self.generator_url,
            self.fingerprint,
            self.status,
        )


class AlertmanagerWebhook(ForeignModel):
    """The webhook payload (version 4); alerts and truncatedAlerts are read, other fields
    are ignored (the group's status, labels and URLs say nothing each alert does not)."""

    alerts: list[WebhookAlert] = Field(min_length=1, max_length=MAX_ALERTS)
    truncated_alerts: Annotated[int, BeforeValidator(_count)] = Field(
        0,
        alias="truncatedAlerts",
        description="alerts Alertmanager left out (its max_alerts); counted and logged",
    )


def _native_fields(mapped: MappedAlert) -> dict[str, Any]:
    return {
        "alert_id": mapped.alert_id,
        "severity": mapped.severity,
        "source": mapped.source,
        "name": mapped.name,
        "event_ts": mapped.event_ts,
        "context": mapped.context,
        "status": mapped.status,
    }


def _origin(mapped: MappedAlert, loc: Sequence[int | str]) -> tuple[int | str, ...]:
    """A native field's error location -> where the value came from in the payload."""
    head, *rest = loc
    if head == "context" and rest and isinstance(rest[0], str):
        return (*mapped.context_origins.get(rest[0], ("context", rest[0])), *rest[1:])
    return mapped.origins.get(str(head), (str(head),))


def _validated(
    alerts: Sequence[SourceAlert],
    where: Loc,
    mapping: LabelMapping,
    default_source: str,
    now: int,
) -> list[Alert]:
    """Every alert mapped and validated; one 422 listing every refused field."""
    result: list[Alert] = []
    errors: list[tuple[str, str]] = []
    dropped = 0
    for i, source_alert in enumerate(alerts):
        at: tuple[int | str, ...] = (*where, i)
        try:
            mapped = map_alert(source_alert, mapping, default_source, now, CONTEXT_LIMITS)
            result.append(AlertIn.model_validate(_native_fields(mapped)).to_alert(now))
            dropped += mapped.context_dropped
        except MappingError as exc:
            errors.append((problems.field_path((*at, *exc.loc)), exc.message))
        except ValidationError as exc:
            for err in exc.errors(include_url=False, include_input=False):
                path = problems.field_path((*at, *_origin(mapped, err["loc"])))
                # A label is the name (say) and a context entry: one error, said once.
                if (path, err["msg"]) not in errors:
                    errors.append((path, err["msg"]))
    if errors:
        summary = "; ".join(f"{f}: {m}" for f, m in errors[:5])
        raise ApiError(422, summary, kind="validation-error", errors=errors)
    if dropped:
        CONTEXT_DROPPED.labels(default_source).inc(dropped)
    return result


def _model(model: type[BaseModel], body: Any) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise problems.from_validation(exc, "body") from None


def prometheus_alerts(body: Any, mapping: LabelMapping | None, now: int) -> list[Alert]:
    """``POST /api/v2/alerts``: errors are named ``[i].labels.x`` (the body is a list)."""
    items = _model(PrometheusAlerts, body).root
    alerts = [item.source_alert() for item in items]
    return _validated(alerts, (), mapping or DEFAULT_MAPPING, PROMETHEUS_SOURCE, now)


def webhook_alerts(body: Any, mapping: LabelMapping | None, now: int) -> list[Alert]:
    """``POST /api/v1/integrations/alertmanager``: errors are named ``alerts[i]...``."""
    webhook = _model(AlertmanagerWebhook, body)
    alerts = [item.source_alert() for item in webhook.alerts]
    result = _validated(alerts, ("alerts",), mapping or DEFAULT_MAPPING, ALERTMANAGER_SOURCE, now)
    if webhook.truncated_alerts:
        # Alertmanager keeps them to itself: they reach no receiver, here or elsewhere.
        TRUNCATED_ALERTS.inc(webhook.truncated_alerts)
        log.info(
            "Alertmanager left %d alerts out of a webhook post (its max_alerts);"
            " they were not received",
            webhook.truncated_alerts,
        )
    return result
