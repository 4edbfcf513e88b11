"""``Silence.state_at``: what the API shows for a silence or window at a given moment
(the clock is an argument)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerting.domain.silences import (
    Matcher,
    MatchOp,
    Schedule,
    Silence,
    SilenceState,
    WeeklyRange,
)

SOURCE_DB = (Matcher("source", MatchOp.EQUAL, "db"),)
T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)  # a Monday


def test_a_silence_is_pending_then_active_then_expired() -> None:
    silence = Silence("s", "c", SOURCE_DB, T0, T0 + timedelta(hours=1))
    assert silence.state_at(T0 - timedelta(seconds=1)) is SilenceState.PENDING
    assert silence.state_at(T0) is SilenceState.ACTIVE
    assert silence.state_at(T0 + timedelta(minutes=59)) is SilenceState.ACTIVE
    assert silence.state_at(T0 + timedelta(hours=1)) is SilenceState.EXPIRED


def test_a_window_is_pending_between_its_ranges_across_a_dst_change() -> None:
    # Sundays 02:30-03:30 in New York; 2026-03-08 is the day clocks skip 02:00-03:00,
    # so that Sunday the window runs 03:00-03:30 local (07:00-07:30 UTC).
    weekly = WeeklyRange(frozenset({6}), 150, 210)
    window = Silence("w", "c", SOURCE_DB, T0, None, Schedule("America/New_York", (weekly,)))
    assert window.state_at(T0) is SilenceState.PENDING
    assert window.state_at(datetime(2026, 3, 8, 7, 15, tzinfo=UTC)) is SilenceState.ACTIVE
    assert window.state_at(datetime(2026, 3, 8, 7, 45, tzinfo=UTC)) is SilenceState.PENDING
    # A week later (EDT, UTC-4): 02:30 local is 06:30 UTC.
    assert window.state_at(datetime(2026, 3, 15, 6, 45, tzinfo=UTC)) is SilenceState.ACTIVE
    ended = Silence("w", "c", SOURCE_DB, T0, T0 + timedelta(days=1), window.schedule)
    assert ended.state_at(datetime(2026, 3, 8, 7, 15, tzinfo=UTC)) is SilenceState.EXPIRED
