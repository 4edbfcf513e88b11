"""What the ingest API accepts and answers.

Everything an alert carries ends up in a Kafka message and later in Postgres (the
notification's text and jsonb columns), so the limits are enforced here, at the edge,
with a message naming the field: NUL characters, for one, would pass protobuf and then
break the aggregator's INSERT far from the caller who sent them, and a line feed in a
name would write lines of the caller's choosing into every email and Slack message the
alert causes (``alerting.domain.text`` says which characters are refused and why).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from alerting.config import LARGEST_ALERT_BATCH
from alerting.domain.model import Alert, AlertStatus, Severity, stable_alert_id
from alerting.services.ingest import loadgen
from alerting.web.models import RequestModel, ResponseModel, label, value_text

# config holds the number: the per-key token bucket must be at least this large.
MAX_ALERTS = LARGEST_ALERT_BATCH
MIN_EVENT_TS = 946_684_800  # 2000-01-01T00:00:00Z: older is a unit mistake, not an alert
MAX_FUTURE_S = 86_400  # clock skew we tolerate; further ahead is a unit mistake too
MAX_CONTEXT_ENTRIES = 32
MAX_CONTEXT_KEY_CHARS = 128
MAX_CONTEXT_VALUE_CHARS = 1024
ALERT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
MAX_RATE = 50_000.0
MAX_COUNT = 10_000_000
MAX_DURATION_S = 86_400.0
RESOLVED_NEEDS_ID = "a resolved alert needs the alert_id (or the event_ts) of its firing"


def _invalid(message: str) -> PydanticCustomError:
    """A validation error whose message is shown as is (no "Value error, " prefix)."""
    return PydanticCustomError("invalid", message)


def _not_wildcard(value: str) -> str:
    if value == "*":
        raise _invalid("'*' is a rule wildcard; an alert names one concrete value")
    return value


def _upper(value: Any) -> Any:
    """Any case and surrounding spaces, but no control characters: a severity with a
    line feed is a forged one, refused like in every other text field."""
    return label(value).strip().upper() if isinstance(value, str) else value


def parse_event_ts(value: Any, now: Callable[[], float] = time.time) -> int | None:
    """Unix seconds (a number) or an RFC 3339 string with an offset -> unix seconds."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _invalid("must be unix seconds or an RFC 3339 timestamp")
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise _invalid("is not an RFC 3339 timestamp (e.g. 2024-05-01T12:00:00Z)") from None
        if parsed.tzinfo is None:
            raise _invalid("needs a UTC offset (e.g. Z or +02:00)")
        seconds = parsed.timestamp()
    elif not math.isfinite(value):
        raise _invalid("must be a finite number of unix seconds")
    else:
        seconds = float(value)
    if not MIN_EVENT_TS <= seconds <= now() + MAX_FUTURE_S:
        raise _invalid("must lie between 2000-01-01 and one day from now (unix seconds, not ms)")
    return math.floor(seconds)


AlertText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=loadgen.MAX_TEXT),
    AfterValidator(label),
    AfterValidator(_not_wildcard),
]
AlertId = Annotated[str, StringConstraints(pattern=ALERT_ID_PATTERN)]
ContextKey = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_CONTEXT_KEY_CHARS), AfterValidator(label)
]
ContextValue = Annotated[
    str, StringConstraints(max_length=MAX_CONTEXT_VALUE_CHARS), AfterValidator(value_text)
]
EventTs = Annotated[int | None, BeforeValidator(parse_event_ts)]


class AlertIn(RequestModel):
    alert_id: AlertId | None = Field(
        None, description="your id (letters, digits, . _ : -); default: hash of the alert"
    )
    severity: Annotated[Severity, BeforeValidator(_upper)]
    source: AlertText
    name: AlertText
    event_ts: EventTs = Field(None, description="unix seconds or RFC 3339; default: now")
    context: dict[ContextKey, ContextValue] = Field(
        default_factory=dict, max_length=MAX_CONTEXT_ENTRIES
    )
    # Declared last: its check reads alert_id and event_ts, validated before it.
    status: AlertStatus = Field(
        AlertStatus.FIRING,
        description="firing (default) or resolved: closes the episode its firing opened",
    )

    @field_validator("status")
    @classmethod
    def _resolved_names_its_firing(cls, status: AlertStatus, info: ValidationInfo) -> AlertStatus:
        """A resolved alert must carry the identity of its firing: the derived id hashes
        event_ts, and "now" would name a new alert with no episode to close. (A field that
        failed its own validation is absent from ``info.data`` and already reported.)"""
        given = {k: info.data.get(k, "invalid") for k in ("alert_id", "event_ts")}
        if status is AlertStatus.RESOLVED and all(v is None for v in given.values()):
            raise _invalid(RESOLVED_NEEDS_ID)
        return status

    def to_alert(self, now: int) -> Alert:
        """The domain alert. Without an event_ts a retried POST gets a new id: give one."""
        event_ts = now if self.event_ts is None else self.event_ts
        alert_id = self.alert_id or stable_alert_id(self.severity, self.source, self.name, event_ts)
        return Alert(
            alert_id, self.severity, self.source, self.name, event_ts, self.context, self.status
        )


class AlertBatch(RequestModel):
    alerts: list[AlertIn] = Field(min_length=1, max_length=MAX_ALERTS)


class AlertIds(ResponseModel):
    alert_ids: list[str]


def _spec(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A domain check as a field validator: its SpecError becomes the field's message."""

    def run(value: Any) -> Any:
        if value is None:
            return None
        try:
            return check(value)
        except loadgen.SpecError as exc:
            raise _invalid(str(exc)) from None

    return run


def _severities(weights: Mapping[str, float]) -> dict[str, float]:
    normalised = loadgen.severity_weights(weights)
    loadgen.Weighted.of(normalised, "severity")
    return normalised


def _texts(what: str) -> Callable[[Mapping[str, float]], Mapping[str, float]]:
    def check(weights: Mapping[str, float]) -> Mapping[str, float]:
        for value in weights:
            loadgen.check_text(value, what)
        loadgen.Weighted.of(weights, what)
        return weights

    return check


Weights = dict[str, float]


class JobRequest(RequestModel):
    rate: float = Field(gt=0, le=MAX_RATE, description="alerts per second")
    count: int | None = Field(None, ge=1, le=MAX_COUNT, description="alerts in all")
    duration_s: float | None = Field(None, gt=0, le=MAX_DURATION_S, description="or: how long")
    severities: Annotated[Weights | None, AfterValidator(_spec(_severities))] = None
    sources: Annotated[Weights | None, AfterValidator(_spec(_texts("source")))] = None
    names: Annotated[Weights | None, AfterValidator(_spec(_texts("name")))] = None
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="default: random")
    tag: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,32}$")] | None = Field(
        None, description="part of every alert id; default: random, so reruns are not deduped"
    )
    batch_size: int | None = Field(None, ge=1, le=MAX_ALERTS, description="alerts per send")

    def bound_error(self) -> str | None:
        """Checked by the handler, not a model validator, so the 422 can name ``count``."""
        if (self.count is None) == (self.duration_s is None):
            return "give exactly one of count and duration_s"
        return None


JobStateName = Literal["running", "completed", "cancelled", "failed"]


class JobCreated(ResponseModel):
    job_id: str


class JobStatus(ResponseModel):
    job_id: str
    state: JobStateName
    rate: float
    count: int | None
    duration_s: float | None
    batch_size: int
    seed: int
    tag: str
    sent: int
    failed: int
    started_at: datetime
    finished_at: datetime | None
    elapsed_s: float
    actual_rate: float = Field(description="alerts sent per second so far")
    error: str | None


class JobList(ResponseModel):
    items: list[JobStatus]
