"""Pure parts of the aggregator: what it decodes, a batch as rounds, and refusing what
Postgres would."""

from __future__ import annotations

import uuid

from alerting import codec
from alerting.domain.model import Alert, AlertMatch, AlertStatus, Severity
from alerting.services.aggregator.rounds import rounds
from alerting.services.aggregator.validation import MAX_EVENT_TS, unstorable

R1, R2 = str(uuid.uuid4()), str(uuid.uuid4())
S1 = str(uuid.uuid4())
F, R = AlertStatus.FIRING, AlertStatus.RESOLVED


def match(
    client: str = "acme",
    alert_id: str = "a1",
    *rules: str,
    event_ts: int = 1_700_000_000,
    context: dict[str, str] | None = None,
    status: AlertStatus = F,
    silence_ids: tuple[str, ...] = (),
) -> AlertMatch:
    alert = Alert(alert_id, Severity.LOW, "db", "x", event_ts, context or {}, status)
    return AlertMatch(alert, client, rules or (R1,), silence_ids)


def shown(batch: list[list[AlertMatch]]) -> list[list[tuple[str, str, str, int]]]:
    return [
        [(m.client_id, m.alert.alert_id, m.alert.status.value, m.alert.event_ts) for m in r]
        for r in batch
    ]


def test_one_round_keeps_one_match_per_client_and_alert_with_every_rule() -> None:
    [merged] = rounds([match("acme", "a1", R1), match("acme", "a1", R2), match("bolt", "a1", R1)])
    assert [(m.client_id, m.alert.alert_id, m.rule_ids) for m in merged] == [
        ("acme", "a1", tuple(sorted((R1, R2)))),
        ("bolt", "a1", (R1,)),
    ]


def test_an_alerts_changes_of_status_are_rounds_in_order() -> None:
    batch = [
        match("acme", "a1", event_ts=1),
        match("acme", "a2", event_ts=1),
        match("acme", "a1", event_ts=2, status=R),
        match("bolt", "a1", event_ts=1, status=R),
        match("acme", "a1", event_ts=3),
        match("acme", "a1", event_ts=4, status=R),
    ]
    assert shown(rounds(batch)) == [
        [("acme", "a1", "firing", 1), ("acme", "a2", "firing", 1), ("bolt", "a1", "resolved", 1)],
        [("acme", "a1", "resolved", 2)],
        [("acme", "a1", "firing", 3)],
        [("acme", "a1", "resolved", 4)],
    ]
    assert rounds([]) == []


def test_a_run_of_one_status_keeps_the_events_that_can_act() -> None:
    """In a run of firings (or resolveds) only an event newer than every one before it
    can be the first to pass the stored state's bound; the others fold into it."""
    batch = [
        match(event_ts=5, context={"n": "1"}),
        match(event_ts=9, context={"n": "2"}, silence_ids=(S1,)),
        match("acme", "a1", R2, event_ts=7, context={"n": "3"}),
        match(event_ts=10, status=R, context={"n": "4"}),
        match("acme", "a1", R2, event_ts=10, status=R),
        match(event_ts=12, status=R),
    ]
    assert shown(rounds(batch)) == [
        [("acme", "a1", "firing", 5)],
        [("acme", "a1", "firing", 9)],
        [("acme", "a1", "resolved", 10)],
        [("acme", "a1", "resolved", 12)],
    ]
    _, [newer], [resolved], _ = rounds(batch)
    assert (newer.alert.context, newer.silence_ids) == ({"n": "2"}, (S1,))
    assert newer.rule_ids == tuple(sorted((R1, R2)))  # with the older one's it outranks
    assert resolved.alert.context == {"n": "4"}
    assert resolved.rule_ids == tuple(sorted((R1, R2)))
    [[tie]] = rounds([match(event_ts=5, context={"n": "1"}), match(event_ts=5)])
    assert tie.alert.context == {"n": "1"}  # a redelivery: the first stands


def test_unstorable_names_the_problem() -> None:
    assert unstorable(match()) is None
    assert "not a UUID" in (unstorable(match("acme", "a1", "rule-1")) or "")
    assert "out of range" in (unstorable(match(event_ts=MAX_EVENT_TS + 1)) or "")
    assert "out of range" in (unstorable(match(event_ts=-1)) or "")
    assert "NUL" in (unstorable(match("ac\x00me")) or "")
    assert "NUL" in (unstorable(match(context={"k\x00": "v"})) or "")
    assert unstorable(match(silence_ids=(S1,))) is None
    assert "silence_id 'mute' is not a UUID" in (unstorable(match(silence_ids=("mute",))) or "")


def test_status_and_silences_reach_the_aggregator_through_the_evaluators_wire_path() -> None:
    """The evaluator appends its fields to the AlertNew bytes it got from ingest: a
    resolved alert arrives resolved, an old message (no field 10) as firing."""
    resolved = match(status=R, context={"k": "v"}).alert
    for alert, status in ((resolved, R), (match().alert, F)):
        wire = codec.decode_wire_alert(codec.encode_alert(alert)).wire
        got = codec.decode_match(wire + codec.encode_match_fields("acme", [R1], [S1]))
        assert (got.alert.status, got.silence_ids, got.rule_ids) == (status, (S1,), (R1,))
        assert got.alert == alert
