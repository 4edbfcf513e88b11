"""A replayed window of an alert's events (a consumer killed after producing or storing
a batch and before committing its offsets gets it again) must make no row: the
episodes model has to be idempotent for any suffix of what it already applied, not
only for an event repeated right after itself."""

from __future__ import annotations

import itertools

import pytest

from alerting.domain.episodes import AlertEpisodes, EpisodeRow, Kind
from alerting.domain.model import AlertStatus

F, R = AlertStatus.FIRING, AlertStatus.RESOLVED


def applied(events: list[tuple[AlertStatus, int]]) -> AlertEpisodes:
    model = AlertEpisodes()
    for status, ts in events:
        model.apply(status, ts)
    return model


def test_a_replayed_resolved_does_not_close_the_next_episode() -> None:
    model = applied([(F, 100), (R, 110), (F, 120)])
    # The batch [R@110, F@120] comes again: the resolved belongs to episode 1.
    assert model.apply(R, 110) is None
    assert model.apply(F, 120) is None
    assert model.rows == [
        EpisodeRow(1, Kind.FIRING, 100),
        EpisodeRow(1, Kind.RESOLVED, 110),
        EpisodeRow(2, Kind.FIRING, 120),
    ]


def test_a_resolved_as_old_as_the_firing_still_closes_it() -> None:
    model = applied([(F, 100)])
    assert model.apply(R, 100) == EpisodeRow(1, Kind.RESOLVED, 100)


def test_a_derived_id_alert_resolved_stays_resolved() -> None:
    """Without an alert_id every event of the alert carries the same event_ts (it is
    part of the id): a firing re-sent after the resolved is a late re-send."""
    model = applied([(F, 100), (F, 100), (R, 100)])
    assert model.apply(F, 100) is None
    assert [(r.episode, r.kind) for r in model.rows] == [(1, Kind.FIRING), (1, Kind.RESOLVED)]


def test_a_firing_after_the_resolved_opens_the_next_episode() -> None:
    model = applied([(F, 100), (R, 110)])
    assert model.apply(F, 111) == EpisodeRow(2, Kind.FIRING, 111)


SCRIPTS = [
    [F, F, R, F, R],
    [F, R, F, F, R, R, F],
    [R, F, R, F],
    [F, F, F, R, R, F, R],
]


@pytest.mark.parametrize("step", [10, 0])
@pytest.mark.parametrize("script", SCRIPTS)
def test_any_replayed_window_makes_nothing(script: list[AlertStatus], step: int) -> None:
    """Events with increasing event_ts (or all in one second: ``step`` 0); replay every
    contiguous window [i, j) after the first j events were applied."""
    events = [(status, 100 + step * k) for k, status in enumerate(script)]
    if step == 0 and script[0] is R:
        # A resolved that overtook its firing in the same second, replayed after the
        # firing, closes the episode: indistinguishable from a resolved sent after it,
        # and what the source said.
        events = events[1:]
    for i, j in itertools.combinations(range(len(events) + 1), 2):
        model = applied(events[:j])
        before = list(model.rows)
        for status, ts in events[i:j]:
            assert model.apply(status, ts) is None, (script, i, j, status, ts)
        assert model.rows == before
