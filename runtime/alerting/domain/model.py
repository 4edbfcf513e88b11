"""The platform's domain objects: plain values, no I/O, no wire formats."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from alerting.domain.silences import Silence

WILDCARD = "*"


class Severity(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


class AlertStatus(StrEnum):
    """An alert's lifecycle state as its source reports it (docs/lifecycle.md)."""

    FIRING = "firing"
    RESOLVED = "resolved"


class RuleAction(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"
    DISABLED = "DISABLED"


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: str
    severity: Severity
    source: str
    name: str
    event_ts: int  # unix seconds
    context: Mapping[str, str] = field(default_factory=dict)
    status: AlertStatus = AlertStatus.FIRING


@dataclass(frozen=True, slots=True)
class AlertMatch:
    """One alert matched for one client, with every rule of that client that matched and
    the client's silences that were active for it (sorted; empty: not silenced)."""

    alert: Alert
    client_id: str
    rule_ids: tuple[str, ...]
    silence_ids: tuple[str, ...] = ()


class ChangedEntity(StrEnum):
    """What a ``RuleChange`` names: silences travel the rules' outbox and topic too."""

    RULE = "RULE"
    SILENCE = "SILENCE"


@dataclass(frozen=True, slots=True)
class RuleChange:
    rule_id: str  # the silence's id when ``entity`` is SILENCE
    client_id: str
    action: RuleAction
    version: int
    updated_at_ms: int
    entity: ChangedEntity = ChangedEntity.RULE


@dataclass(frozen=True, slots=True)
class NotificationReady:
    notification_id: str
    client_id: str
    alert_id: str


@dataclass(frozen=True, slots=True)
class MatchingRule:
    """An enabled rule reduced to what matching needs: who owns it and one pattern per
    matched field (``alerting.domain.patterns``); severity is a Severity value or ``*``.

    Named apart from the rule-service's API ``Rule``, which carries everything a person
    edits (enabled, versions, timestamps); this is what the snapshot ships and the
    evaluator indexes.
    """

    rule_id: str
    client_id: str
    severity: str
    source: str
    name: str


@dataclass(frozen=True, slots=True)
class RuleSnapshot:
    version: int
    rules: tuple[MatchingRule, ...]
    built_at_ms: int = 0
    silences: tuple[Silence, ...] = ()


def stable_alert_id(severity: Severity, source: str, name: str, event_ts: int) -> str:
    """Derive an id from the alert's identity so a retried POST dedupes downstream."""
    digest = hashlib.sha256(
        "\x1f".join((severity.value, source, name, str(event_ts))).encode()
    ).hexdigest()
    return f"a-{digest[:32]}"
