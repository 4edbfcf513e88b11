from __future__ import annotations

import pytest

from alerting import codec
from alerting.codec import DecodeError
from alerting.domain.model import (
    Alert,
    AlertMatch,
    NotificationReady,
    Rule,
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
    snap = RuleSnapshot(7, (Rule("r1", "acme", "*", "payments", "*"),), 5)
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


@pytest.mark.parametrize("clients", [1, 2, 10])
def test_matches_of_one_alert_encode_as_each_would_alone(clients: int) -> None:
    matches = [
        AlertMatch(ALERT, f"c{i}", tuple(f"r{i}-{j}" for j in range(i + 1))) for i in range(clients)
    ]
    encoded = codec.encode_matches(ALERT, matches)
    assert [codec.decode_match(e) for e in encoded] == matches
    for alone, together in zip(map(codec.encode_match, matches), encoded, strict=True):
        a, b = pb.AlertMatched(), pb.AlertMatched()
        a.ParseFromString(alone)
        b.ParseFromString(together)
        assert a == b


def test_severity_numbers_outside_the_enum_are_refused() -> None:
    for number in (0, 5, -1):
        msg = pb.AlertNew(alert_id="a", source="s", name="n", schema_version=1)
        msg.severity = number  # type: ignore[assignment]
        with pytest.raises(DecodeError, match="severity"):
            codec.decode_alert(msg.SerializeToString())
