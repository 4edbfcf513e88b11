"""Prometheus' and Alertmanager's payloads -> domain alerts, or a 422 naming the field.

``POST /api/v2/alerts`` takes the Alertmanager API v2 alert list Prometheus posts;
``POST /api/v1/integrations/alertmanager`` takes the Alertmanager webhook payload
(version 4; Grafana's webhook contact point sends a superset). Unknown fields are
ignored, unlike the native API's: these payloads are not ours, and a field a newer
Prometheus or Grafana adds must not turn their posts into 422s (which they drop for
good).

Each alert is mapped (``alerting.domain.label_mapping``) and then validated exactly like
a native alert (``AlertIn``), so the same lengths and characters are refused; the error
names where the value came from (``alerts[2].labels.alertname``), not the native field.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

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

from alerting.domain.label_mapping import (
    DEFAULT_MAPPING,
    LabelMapping,
    Loc,
    MappedAlert,
    MappingError,
    SourceAlert,
    map_alert,
)
from alerting.domain.model import Alert, AlertStatus
from alerting.services.ingest.models import MAX_ALERTS, MAX_CONTEXT_ENTRIES, AlertIn
from alerting.web import problems
from alerting.web.problems import ApiError

PROMETHEUS_SOURCE = "prometheus"  # the source of an alert with no service or job label
ALERTMANAGER_SOURCE = "alertmanager"
GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)  # what Alertmanager sends for "no endsAt"


def _timestamp(value: Any) -> float | None:
    """RFC 3339 (Go writes nanoseconds; Python keeps microseconds) -> unix seconds;
    absent, empty or Go's zero time -> None. The range is checked with the alert."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PydanticCustomError("invalid", "must be an RFC 3339 timestamp")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError(
            "invalid", "is not an RFC 3339 timestamp (e.g. 2024-05-01T12:00:00Z)"
        ) from None
    if parsed.tzinfo is None:
        raise PydanticCustomError("invalid", "needs a UTC offset (e.g. Z or +02:00)")
    return None if parsed == GO_ZERO_TIME else parsed.timestamp()


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
    """The webhook payload (version 4); only alerts is read, other fields are ignored
    (the group's status, labels and URLs say nothing each alert does not)."""

    alerts: list[WebhookAlert] = Field(min_length=1, max_length=MAX_ALERTS)


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
    for i, source_alert in enumerate(alerts):
        at: tuple[int | str, ...] = (*where, i)
        try:
            mapped = map_alert(source_alert, mapping, default_source, now, MAX_CONTEXT_ENTRIES)
            result.append(AlertIn.model_validate(_native_fields(mapped)).to_alert(now))
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
    items = _model(AlertmanagerWebhook, body).alerts
    alerts = [item.source_alert() for item in items]
    return _validated(alerts, ("alerts",), mapping or DEFAULT_MAPPING, ALERTMANAGER_SOURCE, now)
