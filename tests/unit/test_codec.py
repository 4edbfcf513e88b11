from __future__ import annotations

from typing import Any

import pytest

from alerting import codec
from alerting.codec import DecodeError
from alerting.domain.model import (
    Alert,
    AlertMatch,
    MatchingRule,
    NotificationReady,
    RuleAction,
    RuleChange,
    RuleSnapshot,
    Severity,
    stable_alert_id,
)
from alerting.v1 import messages_pb2 as pb

ALERT = Alert("a-1", Severity.HIGH, "payments", "checkout_errors", 1_700_000_000, {"region": "eu"})


def test_round_trips() -> None:
    assert codec.decode_alert(codec.encode_alert(ALERT)) == ALERT
    match = AlertMatch(ALERT, "acme", ("r1", "r2"))
    assert codec.decode_match(codec.encode_match(match)) == match
    change = RuleChange("r1", "acme", RuleAction.DISABLED, 3, 1_700_000_000_123)
    assert codec.decode_rule_change(codec.encode_rule_change(change)) == change
    ready = NotificationReady("n1", "acme", "a-1")
    assert codec.decode_notification_ready(codec.encode_notification_ready(ready)) == ready
    snap = RuleSnapshot(7, (MatchingRule("r1", "acme", "*", "payments", "*"),), 5)
    assert codec.decode_snapshot(codec.encode_snapshot(snap)) == snap


def test_every_message_carries_the_schema_version() -> None:
    msg = pb.AlertNew()
    msg.ParseFromString(codec.encode_alert(ALERT))
    assert msg.schema_version == codec.SCHEMA_VERSION


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"\xff\xff\xff", "not a valid AlertNew"),
        (
            pb.AlertNew(alert_id="a", source="s", name="n", schema_version=1).SerializeToString(),
            "severity",
        ),
        (
            pb.AlertNew(
                severity=pb.HIGH, source="s", name="n", schema_version=1
            ).SerializeToString(),
            "alert_id",
        ),
        (
            pb.AlertNew(
                alert_id="a", severity=pb.HIGH, source="s", name="n", schema_version=9
            ).SerializeToString(),
            "schema_version 9",
        ),
        (
            pb.AlertNew(
                alert_id="a", severity=77, source="s", name="n", schema_version=1
            ).SerializeToString(),
            "severity 77",
        ),
    ],
)
def test_invalid_alerts_are_refused_with_a_reason(data: bytes, error: str) -> None:
    with pytest.raises(DecodeError, match=error):
        codec.decode_alert(data)


def test_match_without_client_or_rules_is_refused() -> None:
    no_rules = codec.encode_match(AlertMatch(ALERT, "acme", ()))
    with pytest.raises(DecodeError, match="rule_ids"):
        codec.decode_match(no_rules)
    with pytest.raises(DecodeError, match="client_id"):
        codec.decode_match(codec.encode_match(AlertMatch(ALERT, "", ("r",))))


def test_rule_change_needs_a_known_action() -> None:
    data = pb.RuleChanged(rule_id="r", client_id="c", schema_version=1).SerializeToString()
    with pytest.raises(DecodeError, match="action"):
        codec.decode_rule_change(data)


def test_stable_alert_id_depends_on_every_identity_field() -> None:
    base = stable_alert_id(Severity.HIGH, "payments", "errors", 100)
    assert base == stable_alert_id(Severity.HIGH, "payments", "errors", 100)
    assert base != stable_alert_id(Severity.LOW, "payments", "errors", 100)
    assert base != stable_alert_id(Severity.HIGH, "payment", "errors", 100)
    assert base != stable_alert_id(Severity.HIGH, "payments", "error", 100)
    assert base != stable_alert_id(Severity.HIGH, "payments", "errors", 101)
    # The separator keeps field boundaries: ("ab", "c") differs from ("a", "bc").
    assert stable_alert_id(Severity.HIGH, "ab", "c", 1) != stable_alert_id(
        Severity.HIGH, "a", "bc", 1
    )


def parsed_match(data: bytes) -> pb.AlertMatched:
    msg = pb.AlertMatched()
    msg.ParseFromString(data)
    return msg


@pytest.mark.parametrize("rule_ids", [("r1",), ("r1", "r2", "r3")])
def test_a_wire_alert_plus_match_fields_is_the_match_encoded_whole(
    rule_ids: tuple[str, ...],
) -> None:
    wire = codec.decode_wire_alert(codec.encode_alert(ALERT))
    assert (wire.severity, wire.source, wire.name) == ("HIGH", "payments", "checkout_errors")
    match = AlertMatch(ALERT, "acme", rule_ids)
    together = wire.wire + codec.encode_match_fields("acme", rule_ids)
    assert codec.decode_match(together) == match
    assert parsed_match(together) == parsed_match(codec.encode_match(match))


def test_fields_unknown_to_alert_new_do_not_reach_the_match() -> None:
    # Fields 8 and 9 of AlertMatched, smuggled into an AlertNew, must not become a client
    # id or a rule id of the match.
    smuggled = codec.encode_alert(ALERT) + codec.encode_match_fields("victim", ["r-other"])
    wire = codec.decode_wire_alert(smuggled)
    match = codec.decode_match(wire.wire + codec.encode_match_fields("acme", ["r1"]))
    assert match == AlertMatch(ALERT, "acme", ("r1",))


@pytest.mark.parametrize("decode", [codec.decode_alert, codec.decode_wire_alert])
def test_both_alert_decoders_refuse_the_same_messages(decode: Any) -> None:
    for data in (
        b"\xff\xff\xff",
        pb.AlertNew(alert_id="a", severity=pb.HIGH, source="s", schema_version=1),
        pb.AlertNew(alert_id="a", severity=77, source="s", name="n", schema_version=1),
        pb.AlertNew(alert_id="a", severity=pb.HIGH, source="s", name="n", schema_version=2),
    ):
        with pytest.raises(DecodeError):
            decode(data if isinstance(data, bytes) else data.SerializeToString())


def test_severity_numbers_outside_the_enum_are_refused() -> None:
    for number in (0, 5, -1):
        msg = pb.AlertNew(alert_id="a", source="s", name="n", schema_version=1)
        msg.severity = number  # type: ignore[assignment]
        with pytest.raises(DecodeError, match="severity"):
            codec.decode_alert(msg.SerializeToString())
