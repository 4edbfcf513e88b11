"""Wire format <-> domain objects.

Decoding validates what the type system of protobuf cannot (required ids, a known
severity, a schema version we understand) and raises ``DecodeError``, which the
consume loop treats as poison: such a message goes to the DLQ instead of crashing
or stalling a consumer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple, TypeVar

from google.protobuf import unknown_fields
from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message

from alerting.domain.model import (
    Alert,
    AlertMatch,
    AlertStatus,
    ChangedEntity,
    MatchingRule,
    NotificationReady,
    RuleAction,
    RuleChange,
    RuleSnapshot,
    Severity,
)
from alerting.domain.silences import (
    InvalidSilence,
    Matcher,
    MatchOp,
    Schedule,
    Silence,
    WeeklyRange,
    ms_of,
    utc_from_ms,
)
from alerting.v1 import messages_pb2 as pb

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS = frozenset({1})
M = TypeVar("M", bound=Message)


class DecodeError(ValueError):
    """The bytes are not a valid message of the expected type."""


def _parse(message: M, data: bytes) -> M:
    try:
        message.ParseFromString(data)
    except (ProtobufDecodeError, RuntimeError) as exc:
        raise DecodeError(f"not a valid {type(message).__name__}: {exc}") from None
    version = getattr(message, "schema_version", SCHEMA_VERSION)
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise DecodeError(f"{type(message).__name__} schema_version {version} is not supported")
    return message


def _require(kind: str, **fields: str) -> None:
    for name, value in fields.items():
        if not value:
            raise DecodeError(f"{kind}.{name} is empty")


# Plain dicts, built once: protobuf's enum helpers are too slow for the per-alert path.
_SEVERITY_OF_NUMBER: dict[int, Severity] = {int(pb.Severity.Value(s.value)): s for s in Severity}
_NUMBER_OF_SEVERITY = {s: pb.Severity.ValueType(n) for n, s in _SEVERITY_OF_NUMBER.items()}
_STATUS_OF_NUMBER: dict[int, AlertStatus] = {
    int(pb.FIRING): AlertStatus.FIRING,
    int(pb.RESOLVED): AlertStatus.RESOLVED,
}
_NUMBER_OF_STATUS = {s: pb.AlertStatus.ValueType(n) for n, s in _STATUS_OF_NUMBER.items()}


def _severity(value: int) -> Severity:
    found = _SEVERITY_OF_NUMBER.get(value)
    if found is None:
        raise DecodeError(f"severity {value} is not one of LOW, MEDIUM, HIGH, CRITICAL")
    return found


def _fill_alert(msg: pb.AlertNew | pb.AlertMatched, alert: Alert) -> None:
    msg.alert_id = alert.alert_id
    msg.schema_version = SCHEMA_VERSION
    msg.event_ts = alert.event_ts
    msg.severity = _NUMBER_OF_SEVERITY[alert.severity]
    msg.source = alert.source
    msg.name = alert.name
    if alert.context:
        msg.context.update(alert.context)
    if alert.status is not AlertStatus.FIRING:  # FIRING is the default: not on the wire
        msg.status = _NUMBER_OF_STATUS[alert.status]


def _status(value: int) -> AlertStatus:
    found = _STATUS_OF_NUMBER.get(value)
    if found is None:
        raise DecodeError(f"status {value} is not firing or resolved")
    return found


def _checked_severity(msg: pb.AlertNew | pb.AlertMatched) -> Severity:
    """The alert's severity, once its required fields are known to be there."""
    if not (msg.alert_id and msg.source and msg.name):
        kind = type(msg).__name__
        _require(kind, alert_id=msg.alert_id, source=msg.source, name=msg.name)
    return _severity(msg.severity)


def _alert_from(msg: pb.AlertNew | pb.AlertMatched) -> Alert:
    return Alert(
        alert_id=msg.alert_id,
        severity=_checked_severity(msg),
        source=msg.source,
        name=msg.name,
        event_ts=msg.event_ts,
        # An empty map copied costs ~0.9 us (most alerts' context is empty); {} does not.
        context=dict(msg.context) if msg.context else {},
        status=_status(msg.status),
    )


def encode_alert(alert: Alert) -> bytes:
    msg = pb.AlertNew()
    _fill_alert(msg, alert)
    return msg.SerializeToString()


def decode_alert(data: bytes) -> Alert:
    return _alert_from(_parse(pb.AlertNew(), data))


def encode_match(match: AlertMatch) -> bytes:
    msg = pb.AlertMatched(
        client_id=match.client_id, rule_ids=match.rule_ids, silence_ids=match.silence_ids
    )
    _fill_alert(msg, match.alert)
    return msg.SerializeToString()


class WireAlert(NamedTuple):
    """A valid AlertNew as the evaluator needs it: what matching reads, and its bytes.

    AlertNew's fields are AlertMatched's fields 1-7, and serialized protobuf messages
    concatenate as a merge, so ``wire + encode_match_fields(client, rule_ids)`` is that
    client's AlertMatched, the alert never decoded into an ``Alert`` nor encoded again:
    the evaluator's hot path builds no domain objects.
    A NamedTuple, not a dataclass: it is built once per alert on the hot path.
    ``message`` is the parsed AlertNew, kept (at no cost) for the rare reader of its
    context, a silence with a context matcher: parsing the bytes again would cost more.
    """

    severity: str
    source: str
    name: str
    wire: bytes
    message: pb.AlertNew


def decode_wire_alert(data: bytes) -> WireAlert:
    """``decode_alert``'s checks, keeping the bytes instead of building an ``Alert``."""
    msg = _parse(pb.AlertNew(), data)
    severity = _checked_severity(msg).value
    if msg.status:
        _status(msg.status)
    if unknown_fields.UnknownFieldSet(msg):
        # A field this schema does not know may be number 8 or 9 of AlertMatched, and
        # would turn into a client id or rule id downstream: only known fields go on.
        msg.DiscardUnknownFields()
        data = msg.SerializeToString()
    return WireAlert(severity, msg.source, msg.name, data, msg)


def encode_match_fields(
    client_id: str, rule_ids: Sequence[str], silence_ids: Sequence[str] = ()
) -> bytes:
    """AlertMatched's own fields, to append to a ``WireAlert.wire``."""
    return pb.AlertMatched(
        client_id=client_id, rule_ids=rule_ids, silence_ids=silence_ids
    ).SerializeToString()


def decode_match(data: bytes) -> AlertMatch:
    msg = _parse(pb.AlertMatched(), data)
    _require("AlertMatched", client_id=msg.client_id)
    if not msg.rule_ids:
        raise DecodeError("AlertMatched.rule_ids is empty")
    silence_ids = tuple(msg.silence_ids) if msg.silence_ids else ()  # mostly none
    return AlertMatch(_alert_from(msg), msg.client_id, tuple(msg.rule_ids), silence_ids)


def encode_rule_change(change: RuleChange) -> bytes:
    return pb.RuleChanged(
        rule_id=change.rule_id,
        client_id=change.client_id,
        action=pb.RuleAction.Value(change.action.value),
        version=change.version,
        updated_at=change.updated_at_ms,
        schema_version=SCHEMA_VERSION,
        entity=pb.ChangedEntity.Value(change.entity.value),
    ).SerializeToString()


def decode_rule_change(data: bytes) -> RuleChange:
    msg = _parse(pb.RuleChanged(), data)
    _require("RuleChanged", rule_id=msg.rule_id, client_id=msg.client_id)
    if msg.action == pb.RULE_ACTION_UNSPECIFIED or msg.action not in pb.RuleAction.values():
        raise DecodeError(f"RuleChanged.action {msg.action} is not a known action")
    if msg.entity not in pb.ChangedEntity.values():
        raise DecodeError(f"RuleChanged.entity {msg.entity} is not a known entity")
    return RuleChange(
        rule_id=msg.rule_id,
        client_id=msg.client_id,
        action=RuleAction(pb.RuleAction.Name(msg.action)),
        version=msg.version,
        updated_at_ms=msg.updated_at,
        entity=ChangedEntity(pb.ChangedEntity.Name(msg.entity)),
    )


def encode_notification_ready(event: NotificationReady) -> bytes:
    return pb.NotificationReady(
        notification_id=event.notification_id,
        client_id=event.client_id,
        alert_id=event.alert_id,
        schema_version=SCHEMA_VERSION,
    ).SerializeToString()


def decode_notification_ready(data: bytes) -> NotificationReady:
    msg = _parse(pb.NotificationReady(), data)
    _require(
        "NotificationReady",
        notification_id=msg.notification_id,
        client_id=msg.client_id,
        alert_id=msg.alert_id,
    )
    return NotificationReady(msg.notification_id, msg.client_id, msg.alert_id)


def silence_message(silence: Silence, version: int = 0) -> pb.SnapshotSilence:
    """A silence as the snapshot carries it."""
    schedule = silence.schedule
    return pb.SnapshotSilence(
        silence_id=silence.silence_id,
        client_id=silence.client_id,
        matchers=[
            pb.SilenceMatcher(name=m.name, op=m.op.value, value=m.value) for m in silence.matchers
        ],
        starts_at=ms_of(silence.starts_at),
        ends_at=0 if silence.ends_at is None else ms_of(silence.ends_at),
        time_zone="" if schedule is None else schedule.time_zone,
        weekly=[]
        if schedule is None
        else [
            pb.WeeklyRange(
                days=sorted(r.days), start_minute=r.start_minute, end_minute=r.end_minute
            )
            for r in schedule.ranges
        ],
        version=version,
    )


def silence_from_message(msg: pb.SnapshotSilence) -> Silence:
    """``silence_message`` inverted; ``InvalidSilence`` when it does not validate."""
    schedule = None
    if msg.time_zone:
        schedule = Schedule(
            msg.time_zone,
            tuple(WeeklyRange(frozenset(r.days), r.start_minute, r.end_minute) for r in msg.weekly),
        )
    try:
        matchers = tuple(Matcher(m.name, MatchOp(m.op), m.value) for m in msg.matchers)
    except ValueError as exc:  # an unknown op
        raise InvalidSilence("matchers", str(exc)) from None
    return Silence(
        silence_id=msg.silence_id,
        client_id=msg.client_id,
        matchers=matchers,
        starts_at=utc_from_ms(msg.starts_at),
        ends_at=utc_from_ms(msg.ends_at) if msg.ends_at else None,
        schedule=schedule,
    )


def encode_snapshot(snapshot: RuleSnapshot) -> bytes:
    return pb.RuleSnapshot(
        version=snapshot.version,
        schema_version=SCHEMA_VERSION,
        built_at=snapshot.built_at_ms,
        rules=[
            pb.SnapshotRule(
                rule_id=r.rule_id,
                client_id=r.client_id,
                severity=r.severity,
                source=r.source,
                name=r.name,
            )
            for r in snapshot.rules
        ],
        silences=[silence_message(s) for s in snapshot.silences],
    ).SerializeToString()


def decode_snapshot(data: bytes) -> RuleSnapshot:
    msg = _parse(pb.RuleSnapshot(), data)
    silences: list[Silence] = []
    for s in msg.silences:
        try:
            silences.append(silence_from_message(s))
        except InvalidSilence as exc:
            # rule-service validated it; one bad entry must not cost every evaluator its
            # whole new snapshot (and with it every rule change since the last one).
            log.error("silence %s in the snapshot is skipped: %s", s.silence_id, exc)
    return RuleSnapshot(
        version=msg.version,
        built_at_ms=msg.built_at,
        rules=tuple(
            MatchingRule(r.rule_id, r.client_id, r.severity, r.source, r.name) for r in msg.rules
        ),
        silences=tuple(silences),
    )
