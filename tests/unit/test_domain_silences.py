"""The silences domain: matchers, time bounds, weekly windows in a zone, the index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerting.domain.silences import (
    AlertFields,
    InvalidSilence,
    Matcher,
    MatchOp,
    Schedule,
    Silence,
    SilenceIndex,
    WeeklyRange,
)

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday


def silence(
    *matchers: Matcher,
    sid: str = "s1",
    client: str = "acme",
    starts: datetime = T0,
    ends: datetime | None = T0 + timedelta(hours=1),
    schedule: Schedule | None = None,
) -> Silence:
    return Silence(sid, client, matchers, starts, ends, schedule)


def alert(
    severity: str = "HIGH", source: str = "db", name: str = "down", **ctx: str
) -> AlertFields:
    return AlertFields(severity, source, name, lambda: ctx)


@pytest.mark.parametrize(
    ("op", "value", "field_value", "holds"),
    [
        (MatchOp.EQUAL, "db", "db", True),
        (MatchOp.EQUAL, "db", "dbx", False),
        (MatchOp.NOT_EQUAL, "db", "web", True),
        (MatchOp.NOT_EQUAL, "db", "db", False),
        (MatchOp.REGEX, "db-.*", "db-1", True),
        # Anchored: a regex must match the whole value, as in Alertmanager.
        (MatchOp.REGEX, "db", "db-1", False),
        (MatchOp.REGEX, "a|b", "b", True),
        (MatchOp.NOT_REGEX, "db-.*", "web", True),
        (MatchOp.NOT_REGEX, "db-.*", "db-2", False),
    ],
)
def test_matcher_ops(op: MatchOp, value: str, field_value: str, holds: bool) -> None:
    assert Matcher("source", op, value).holds(field_value) is holds


def test_a_catastrophic_pattern_runs_in_linear_time() -> None:
    m = Matcher("name", MatchOp.REGEX, "(a+)+$")
    assert m.holds("a" * 100_000 + "b") is False


@pytest.mark.parametrize(
    ("name", "op", "value", "field"),
    [
        ("sev", MatchOp.EQUAL, "x", "name"),
        ("context.", MatchOp.EQUAL, "x", "name"),
        ("source", MatchOp.REGEX, "(", "value"),
        ("source", MatchOp.REGEX, "a" * 1025, "value"),
        ("source", MatchOp.EQUAL, "a" * 1025, "value"),
    ],
)
def test_invalid_matchers_name_the_field(name: str, op: MatchOp, value: str, field: str) -> None:
    with pytest.raises(InvalidSilence) as err:
        Matcher(name, op, value)
    assert err.value.field == field


def test_context_matcher_reads_the_context_and_a_missing_key_reads_empty() -> None:
    s = silence(Matcher("context.region", MatchOp.EQUAL, "eu"))
    assert s.mutes(alert(region="eu"))
    assert not s.mutes(alert(region="us"))
    assert silence(Matcher("context.region", MatchOp.EQUAL, "")).mutes(alert())


def test_context_is_not_read_when_no_matcher_needs_it() -> None:
    def boom() -> dict[str, str]:
        raise AssertionError("context decoded")

    s = silence(Matcher("source", MatchOp.EQUAL, "db"))
    assert s.mutes(AlertFields("HIGH", "db", "down", boom))


def test_all_matchers_must_hold() -> None:
    s = silence(Matcher("source", MatchOp.EQUAL, "db"), Matcher("severity", MatchOp.EQUAL, "LOW"))
    assert not s.mutes(alert(severity="HIGH"))
    assert s.mutes(alert(severity="LOW"))


def test_time_bounds_are_half_open() -> None:
    s = silence(Matcher("source", MatchOp.EQUAL, "db"))
    assert not s.active_at(T0 - timedelta(seconds=1))
    assert s.active_at(T0)
    assert not s.active_at(T0 + timedelta(hours=1))
    assert s.ended_by(T0 + timedelta(hours=1)) and not s.ended_by(T0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"ends": T0}, "ends_at"),
        ({"ends": None}, "ends_at"),
        ({"starts": datetime(2026, 3, 2, 12, 0)}, "starts_at"),
    ],
)
def test_invalid_silences(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidSilence) as err:
        silence(Matcher("source", MatchOp.EQUAL, "db"), **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_no_matchers_is_invalid() -> None:
    with pytest.raises(InvalidSilence) as err:
        silence()
    assert err.value.field == "matchers"


def window(zone: str, *ranges: WeeklyRange) -> Silence:
    return silence(
        Matcher("source", MatchOp.EQUAL, "db"),
        starts=T0 - timedelta(days=400),
        ends=None,
        schedule=Schedule(zone, ranges),
    )


def test_a_window_is_active_only_inside_its_ranges_in_its_zone() -> None:
    # Mondays 02:00-04:00 in New York (UTC-5 in winter).
    w = window("America/New_York", WeeklyRange(frozenset({0}), 120, 240))
    monday_3am_ny = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)
    assert w.active_at(monday_3am_ny)
    assert not w.active_at(monday_3am_ny + timedelta(hours=1, minutes=1))
    # 03:00 UTC on Monday is Sunday 22:00 in New York: outside.
    assert not w.active_at(datetime(2026, 2, 2, 3, 0, tzinfo=UTC))


def test_a_window_keeps_its_wall_clock_across_daylight_saving() -> None:
    w = window("Europe/Paris", WeeklyRange(frozenset({0}), 120, 240))
    winter = datetime(2026, 2, 2, 1, 30, tzinfo=UTC)  # 02:30 CET
    summer = datetime(2026, 7, 6, 0, 30, tzinfo=UTC)  # 02:30 CEST
    assert w.active_at(winter) and w.active_at(summer)
    assert w.active_at(datetime(2026, 7, 6, 1, 30, tzinfo=UTC))  # 03:30 CEST
    assert not w.active_at(datetime(2026, 7, 6, 2, 30, tzinfo=UTC))  # 04:30 CEST
    assert not w.active_at(datetime(2026, 2, 2, 3, 30, tzinfo=UTC))  # 04:30 CET


def test_a_range_past_midnight_covers_the_next_morning() -> None:
    w = window("UTC", WeeklyRange(frozenset({4}), 22 * 60, 2 * 60))  # Fri 22:00 - Sat 02:00
    assert w.active_at(datetime(2026, 3, 6, 23, 0, tzinfo=UTC))  # Friday
    assert w.active_at(datetime(2026, 3, 7, 1, 59, tzinfo=UTC))  # Saturday
    assert not w.active_at(datetime(2026, 3, 7, 2, 0, tzinfo=UTC))
    assert not w.active_at(datetime(2026, 3, 5, 23, 0, tzinfo=UTC))  # Thursday


def test_a_window_outside_its_bounds_is_inactive() -> None:
    s = Silence(
        "w",
        "acme",
        (Matcher("source", MatchOp.EQUAL, "db"),),
        T0,
        T0 + timedelta(days=7),
        Schedule("UTC", (WeeklyRange(frozenset(range(7)), 0, 24 * 60),)),
    )
    assert s.active_at(T0 + timedelta(days=1))
    assert not s.active_at(T0 + timedelta(days=8))


@pytest.mark.parametrize(
    ("zone", "ranges", "field"),
    [
        ("Mars/Olympus", (WeeklyRange(frozenset({0}), 0, 60),), "time_zone"),
        ("UTC", (), "ranges"),
    ],
)
def test_invalid_schedules(zone: str, ranges: tuple[WeeklyRange, ...], field: str) -> None:
    with pytest.raises(InvalidSilence) as err:
        Schedule(zone, ranges)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("days", "start", "end", "field"),
    [
        (frozenset(), 0, 60, "days"),
        (frozenset({7}), 0, 60, "days"),
        (frozenset({0}), 1440, 60, "start"),
        (frozenset({0}), 0, 0, "end"),
        (frozenset({0}), 0, 1441, "end"),
    ],
)
def test_invalid_ranges(days: frozenset[int], start: int, end: int, field: str) -> None:
    with pytest.raises(InvalidSilence) as err:
        WeeklyRange(days, start, end)
    assert err.value.field == field


def test_the_index_answers_like_testing_every_silence() -> None:
    silences = [
        silence(Matcher("source", MatchOp.EQUAL, "db"), sid="eq-source"),
        silence(Matcher("name", MatchOp.EQUAL, "down"), sid="eq-name"),
        silence(Matcher("severity", MatchOp.EQUAL, "LOW"), sid="eq-severity"),
        silence(Matcher("source", MatchOp.REGEX, "d.*"), sid="regex"),
        silence(Matcher("source", MatchOp.NOT_EQUAL, "web"), sid="not-web"),
        silence(Matcher("source", MatchOp.EQUAL, "db"), sid="other-client", client="globex"),
        silence(
            Matcher("source", MatchOp.EQUAL, "db"),
            sid="later",
            starts=T0 + timedelta(hours=2),
            ends=T0 + timedelta(hours=3),
        ),
    ]
    index = SilenceIndex(silences)
    assert len(index) == len(silences)
    now = T0 + timedelta(minutes=5)
    for fields in (alert(), alert(source="web"), alert(severity="LOW", name="up")):
        expected = sorted(
            s.silence_id
            for s in silences
            if s.client_id == "acme" and s.active_at(now) and s.mutes(fields)
        )
        assert index.muting("acme", fields, now) == expected
    assert index.muting("acme", alert(), now) == [
        "eq-name",
        "eq-source",
        "not-web",
        "regex",
    ]
    assert index.muting("initech", alert(), now) == []
    assert index.has_client("globex") and not index.has_client("initech")
