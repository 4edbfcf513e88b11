"""How a Prometheus or Alertmanager alert (labels, annotations, times) becomes an alert.

Prometheus and Alertmanager describe an alert by its labels; the platform's alert has a
name, a severity, a source, a context and an id. The defaults follow what SRE teams
already write (docs/integrations.md, "Sources"), and an ingest key may override them
(``api_keys.label_mapping``), so a team whose severities say ``P1`` need not relabel.

Two choices matter for what a caller sees downstream:

* a severity label that is missing or unknown is the mapping's default (HIGH, like the
  "error" default of Alertmanager's own PagerDuty integration), never an error: a 4xx
  makes Alertmanager drop the whole batch for good, for a value it considers fine;
* the id is Alertmanager's fingerprint of the labels (given by the webhook, computed
  the way Alertmanager does for Prometheus' own posts), so one alert keeps one id
  whichever route it came by, every re-send of a firing alert is the same alert, and
  ``event_ts`` (startsAt, or endsAt once resolved) orders its episodes
  (docs/lifecycle.md).

* the context is cleaned and cut to fit (``alerting.domain.foreign_context``), never
  refused: a 4xx is re-sent unchanged forever, so only what cannot be mapped at all
  (no name, a bad time or fingerprint) is refused.

Pure: no I/O, no clock (``now`` is given), no wire format; the ingest layer validates
the result like a native alert and names a refused value by where it came from
(``MappingError.loc``, ``MappedAlert.origins``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from alerting.domain.foreign_context import ContextLimits, Loc, fit, ordered_entries
from alerting.domain.model import AlertStatus, Severity

# Prometheus' label-name syntax (before UTF-8 names): what a mapping may name.
LABEL_NAME_PATTERN = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
LABEL_NAME = re.compile(LABEL_NAME_PATTERN)
# Severity label values (compared lower-cased) -> severity; a key's mapping adds to them.
SEVERITY_VALUES: Mapping[str, Severity] = {
    "critical": Severity.CRITICAL,
    "error": Severity.HIGH,
    "high": Severity.HIGH,
    "warning": Severity.MEDIUM,
    "info": Severity.LOW,
    "none": Severity.LOW,
}
# Alertmanager's fingerprint: 64-bit FNV-1a over the sorted labels, each name and value
# followed by 0xff (prometheus/common model.LabelSet.Fingerprint), printed as 16 hex digits.
_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_U64 = (1 << 64) - 1
_SEPARATOR = b"\xff"


class MappingError(ValueError):
    """The alert cannot be mapped; ``loc`` is the alert's field that is missing or wrong."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


@dataclass(frozen=True, slots=True)
class LabelMapping:
    """Which labels say what; every field has the documented default.

    Hashable (tuples, not lists or dicts): it travels on the authenticated principal.
    """

    name_label: str = "alertname"
    severity_label: str = "severity"
    source_labels: tuple[str, ...] = ("service", "job")  # the first one present wins
    severity_values: tuple[tuple[str, Severity], ...] = ()  # added to SEVERITY_VALUES
    default_severity: Severity = Severity.HIGH
    default_source: str | None = None  # None: the route's own ("prometheus", "alertmanager")

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any] | None) -> LabelMapping | None:
        """A key's stored override (validated by the API that stored it; absent fields
        keep their defaults), or None for a key without one."""
        if stored is None:
            return None
        fields: dict[str, Any] = {}
        for name in ("name_label", "severity_label", "default_source"):
            if stored.get(name) is not None:
                fields[name] = stored[name]
        if stored.get("source_labels") is not None:
            fields["source_labels"] = tuple(stored["source_labels"])
        if stored.get("severity_values") is not None:
            values = stored["severity_values"].items()
            fields["severity_values"] = tuple(
                (k.strip().lower(), Severity(v.upper())) for k, v in values
            )
        if stored.get("default_severity") is not None:
            fields["default_severity"] = Severity(stored["default_severity"].upper())
        return cls(**fields)

    def severity_of(self, value: str | None) -> Severity:
        """Case-insensitive; a missing or unknown value is the default, never an error."""
        if value is None:
            return self.default_severity
        wanted = value.strip().lower()
        for key, severity in self.severity_values:
            if key == wanted:
                return severity
        return SEVERITY_VALUES.get(wanted, self.default_severity)


DEFAULT_MAPPING = LabelMapping()


@dataclass(frozen=True, slots=True)
class SourceAlert:
    """One alert as Prometheus (API v2) or Alertmanager (webhook) sends it, times parsed
    to unix seconds (None: absent, or Go's zero time)."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str] = field(default_factory=dict)
    starts_at: float | None = None
    ends_at: float | None = None
    generator_url: str = ""
    fingerprint: str | None = None  # the webhook's; Prometheus sends none
    status: AlertStatus | None = None  # the webhook's; None: decided by ends_at


class MappedAlert(NamedTuple):
    """The alert's fields, still to be validated like a native alert's, and where each
    came from, so a refusal names the source's field. A named tuple, immutable like a
    frozen dataclass and cheaper to build: ingest builds one per alert."""

    alert_id: str
    severity: Severity
    source: str
    name: str
    event_ts: float
    context: Mapping[str, str]
    context_dropped: int  # entries left out to fit (``context_truncated`` says how many)
    status: AlertStatus
    origins: Mapping[str, Loc]  # field name -> where it came from
    context_origins: Mapping[str, Loc]  # context key -> where it came from


def fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's fingerprint of a label set: same labels, same id, in any order."""
    digest = _FNV_OFFSET
    # Go sorts names as bytes; sorting the UTF-8 encodings gives the same order.
    for name in sorted(labels, key=_utf8):
        for byte in _utf8(name) + _SEPARATOR + _utf8(labels[name]) + _SEPARATOR:
            digest = ((digest ^ byte) * _FNV_PRIME) & _U64
    return f"{digest:016x}"


def _utf8(text: str) -> bytes:
    # surrogatepass: a lone surrogate is refused later, with the field named, not here.
    return text.encode("utf-8", "surrogatepass")


def status_of(alert: SourceAlert, now: float) -> AlertStatus:
    """The webhook's own status; else (API v2) resolved once endsAt has passed."""
    if alert.status is not None:
        return alert.status
    if alert.ends_at is not None and alert.ends_at <= now:
        return AlertStatus.RESOLVED
    return AlertStatus.FIRING


def _event_ts(alert: SourceAlert, status: AlertStatus, now: float) -> tuple[float, Loc]:
    """startsAt for a firing (each re-send of one episode carries the same), endsAt for
    a resolved; ingest's clock when the source gave none."""
    if status is AlertStatus.RESOLVED:
        return (now, ()) if alert.ends_at is None else (alert.ends_at, ("endsAt",))
    return (now, ()) if alert.starts_at is None else (alert.starts_at, ("startsAt",))


def map_alert(
    alert: SourceAlert,
    mapping: LabelMapping,
    default_source: str,
    now: float,
    limits: ContextLimits,
) -> MappedAlert:
    """The alert's fields under ``mapping``, or a ``MappingError`` naming the field.
    The context is cleaned and cut to ``limits``, never refused (``foreign_context``)."""
    labels = alert.labels
    name = labels.get(mapping.name_label)
    if name is None:
        raise MappingError(
            ("labels", mapping.name_label), "missing: the alert's name comes from this label"
        )
    source_label = next((s for s in mapping.source_labels if labels.get(s)), None)
    source_loc: Loc
    if source_label is None:
        source, source_loc = mapping.default_source or default_source, ("default_source",)
    else:
        source, source_loc = labels[source_label], ("labels", source_label)
    read_first = (mapping.name_label, mapping.severity_label, *mapping.source_labels)
    entries = ordered_entries(labels, alert.annotations, alert.generator_url, read_first)
    context = fit(entries, limits)
    status = status_of(alert, now)
    event_ts, event_loc = _event_ts(alert, status, now)
    if alert.fingerprint is not None:
        alert_id, id_loc = alert.fingerprint, ("fingerprint",)
    else:
        alert_id, id_loc = fingerprint(labels), ("labels",)
    return MappedAlert(
        alert_id=alert_id,
        severity=mapping.severity_of(labels.get(mapping.severity_label)),
        source=source,
        name=name,
        event_ts=event_ts,
        context=context.context,
        context_dropped=context.dropped,
        status=status,
        origins={
            "alert_id": id_loc,
            "name": ("labels", mapping.name_label),
            "source": source_loc,
            "event_ts": event_loc,
            "severity": ("labels", mapping.severity_label),
            "status": ("status",),
        },
        context_origins=context.origins,
    )
