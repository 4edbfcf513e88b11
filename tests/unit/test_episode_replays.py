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


SCRIPTS = [
    [F, F, R, F, R],
    [F, R, F, F, R, R, F],
    [R, F, R, F],
    [F, F, F, R, R, F, R],
]


@pytest.mark.parametrize("script", SCRIPTS)
def test_any_replayed_window_makes_nothing(script: list[AlertStatus]) -> None:
    """Events with increasing event_ts; replay every contiguous window [i, j) after the
    first j events were applied."""
    events = [(status, 100 + 10 * k) for k, status in enumerate(script)]
    for i, j in itertools.combinations(range(len(events) + 1), 2):
        model = applied(events[:j])
        before = list(model.rows)
        for status, ts in events[i:j]:
            assert model.apply(status, ts) is None, (script, i, j, status, ts)
        assert model.rows == before
