"""The evaluator's Matcher marks each client's match with the silences that mute it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from alerting import codec
from alerting.domain.model import Alert, MatchingRule, Severity
from alerting.domain.silences import Matcher as On
from alerting.domain.silences import MatchOp, Schedule, Silence, WeeklyRange
from alerting.services.evaluator import silencing
from alerting.services.evaluator.matcher import Matcher
from alerting.services.evaluator.silencing import Instant

# A Monday, 10:00 UTC (11:00 in Paris).
NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
RULES = [
    MatchingRule("ra", "acme", "HIGH", "db", "*"),
    MatchingRule("rb", "bolt", "HIGH", "db", "*"),
]


def silence(
    silence_id: str,
    *matchers: On,
    client: str = "acme",
    starts_at: datetime = NOW - HOUR,
    ends_at: datetime | None = NOW + HOUR,
    schedule: Schedule | None = None,
) -> Silence:
    return Silence(silence_id, client, matchers, starts_at, ends_at, schedule)


def wire(context: dict[str, str] | None = None, source: str = "db") -> codec.WireAlert:
    alert = Alert("a-1", Severity.HIGH, source, "disk_full", 1_700_000_000, context or {})
    return codec.decode_wire_alert(codec.encode_alert(alert))


def muted_by(matcher: Matcher, alert: codec.WireAlert, now: datetime = NOW) -> dict[str, tuple]:
    out = {}
    for key, value in matcher.matches(alert, Instant(now)):
        match = codec.decode_match(value)
        assert key == match.client_id.encode()
        out[match.client_id] = match.silence_ids
    return out


class CountedMessage:
    """The parsed AlertNew a WireAlert carries, counting the reads of its context."""

    def __init__(self, message: Any) -> None:
        self._message = message
        self.reads = 0

    @property
    def context(self) -> Mapping[str, str]:
        self.reads += 1
        return cast(Mapping[str, str], self._message.context)


def counted(alert: codec.WireAlert) -> tuple[codec.WireAlert, CountedMessage]:
    """``alert`` whose context reads are counted."""
    message = CountedMessage(alert.message)
    return alert._replace(message=cast(Any, message)), message


def test_the_matcher_never_parses_the_alert_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The context comes from the message the codec parsed; the bytes are not parsed."""

    def refused(data: bytes) -> None:
        raise AssertionError("the alert's bytes were parsed again")

    matcher = Matcher(RULES, [silence("s-eu", On("context.region", MatchOp.REGEX, "eu-.*"))])
    alert = wire({"region": "eu-west"})
    monkeypatch.setattr(silencing.codec.pb.AlertNew, "FromString", refused)
    assert muted_by(matcher, alert)["acme"] == ("s-eu",)


def test_a_matching_active_silence_is_named_and_an_unrelated_one_is_not() -> None:
    matcher = Matcher(
        RULES,
        [
            silence("s-db", On("source", MatchOp.EQUAL, "db")),
            silence("s-re", On("name", MatchOp.REGEX, "disk_.*")),
            silence("s-web", On("source", MatchOp.EQUAL, "web")),
        ],
    )
    assert muted_by(matcher, wire()) == {"acme": ("s-db", "s-re"), "bolt": ()}


def test_another_clients_silence_never_applies() -> None:
    matcher = Matcher(RULES, [silence("s-bolt", On("source", MatchOp.EQUAL, "db"), client="bolt")])
    assert muted_by(matcher, wire()) == {"acme": (), "bolt": ("s-bolt",)}
    only_acme = Matcher(RULES[:1], [silence("s-z", On("source", MatchOp.EQUAL, "db"), client="z")])
    assert muted_by(only_acme, wire()) == {"acme": ()}


def test_time_bounds_hold_start_inclusive_end_exclusive() -> None:
    matcher = Matcher(RULES, [silence("s1", On("source", MatchOp.EQUAL, "db"))])
    assert muted_by(matcher, wire(), NOW - HOUR)["acme"] == ("s1",)
    assert muted_by(matcher, wire(), NOW - HOUR - timedelta(milliseconds=1))["acme"] == ()
    assert muted_by(matcher, wire(), NOW + HOUR - timedelta(milliseconds=1))["acme"] == ("s1",)
    assert muted_by(matcher, wire(), NOW + HOUR)["acme"] == ()


def test_a_maintenance_window_mutes_only_inside_its_ranges() -> None:
    # Mondays 11:00-12:00 Paris time (10:00-11:00 UTC in January), no end date.
    window = Schedule("Europe/Paris", (WeeklyRange(frozenset({0}), 11 * 60, 12 * 60),))
    matcher = Matcher(
        RULES, [silence("w1", On("source", MatchOp.EQUAL, "db"), ends_at=None, schedule=window)]
    )
    assert muted_by(matcher, wire(), NOW)["acme"] == ("w1",)
    assert muted_by(matcher, wire(), NOW + HOUR)["acme"] == ()
    assert muted_by(matcher, wire(), NOW + timedelta(days=7, minutes=30))["acme"] == ("w1",)
    assert muted_by(matcher, wire(), NOW + timedelta(days=1))["acme"] == ()


def test_the_context_is_read_once_and_only_when_a_silence_reads_it() -> None:
    matcher = Matcher(
        RULES,
        [
            silence("s-eu", On("context.region", MatchOp.REGEX, "eu-.*")),
            silence("s-eu2", On("context.region", MatchOp.NOT_EQUAL, "us-1")),
        ],
    )
    alert, message = counted(wire({"region": "eu-west"}))
    assert muted_by(matcher, alert)["acme"] == ("s-eu", "s-eu2")
    assert message.reads == 1, "two silences, one read"
    us, us_message = counted(wire({"region": "us-1"}))
    assert muted_by(matcher, us)["acme"] == ()
    assert muted_by(matcher, wire())["acme"] == ("s-eu2",), "a missing key reads as empty"
    assert us_message.reads == 1


def test_context_silences_are_filed_by_key_and_value() -> None:
    """Only the silences filed under the alert's own value of a key can mute it; those
    without an ``=`` context matcher with a value (``= ""`` holds for a missing key) are
    tested on every alert."""
    teams = [
        silence(f"s-{i:02}", On("context.team", MatchOp.EQUAL, f"t{i}"), On("context.env", op, v))
        for i in range(40)
        for op, v in ((MatchOp.EQUAL, "prod"), (MatchOp.NOT_EQUAL, "prod"))
        if i % 2 == (op is MatchOp.NOT_EQUAL)
    ]
    no_team = silence("s-none", On("context.team", MatchOp.EQUAL, ""))
    matcher = Matcher(RULES, [*teams, no_team])
    assert muted_by(matcher, wire({"team": "t4", "env": "prod"}))["acme"] == ("s-04",)
    assert muted_by(matcher, wire({"team": "t4", "env": "dev"}))["acme"] == ()
    assert muted_by(matcher, wire({"team": "t5", "env": "dev"}))["acme"] == ("s-05",)
    assert muted_by(matcher, wire({"team": "t5", "env": "prod"}))["acme"] == ()
    assert muted_by(matcher, wire({"team": "t99", "env": "prod"}))["acme"] == ()
    assert muted_by(matcher, wire({"env": "prod"}))["acme"] == ("s-none",)
    assert muted_by(matcher, wire())["acme"] == ("s-none",)


def test_the_context_is_not_read_when_no_silence_of_the_client_needs_it() -> None:
    matcher = Matcher(
        RULES,
        [
            silence("s-db", On("source", MatchOp.EQUAL, "db")),
            # bolt's context silence is never consulted for acme, and bolt filed under
            # another source is never a candidate.
            silence(
                "s-b",
                On("source", MatchOp.EQUAL, "web"),
                On("context.k", MatchOp.EQUAL, "v"),
                client="bolt",
            ),
        ],
    )
    alert, message = counted(wire({"k": "v"}))
    assert muted_by(matcher, alert) == {"acme": ("s-db",), "bolt": ()}
    assert message.reads == 0
    assert muted_by(Matcher(RULES), alert) == {"acme": (), "bolt": ()}
    assert message.reads == 0


def test_unmuted_matches_are_byte_identical_to_those_without_silences() -> None:
    alert = wire({"k": "v"})
    plain = Matcher(RULES).matches(alert, Instant(NOW))
    with_other = Matcher(RULES, [silence("s", On("source", MatchOp.EQUAL, "web"))])
    assert with_other.matches(alert, Instant(NOW)) == plain
    assert len(with_other.silences) == 1


def test_a_muted_match_is_the_codecs_encoding_with_the_silence_ids() -> None:
    silences = [silence(f"s{i}", On("source", MatchOp.EQUAL, "db")) for i in (2, 1)]
    alert = wire({"k": "v"})
    (found, _) = Matcher(RULES, silences).matches(alert, Instant(NOW))
    assert found[1] == alert.wire + codec.encode_match_fields("acme", ("ra",), ("s1", "s2"))
