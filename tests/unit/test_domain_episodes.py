"""The reference model of episodes (alerting.domain.episodes)."""

from __future__ import annotations

from alerting.domain.episodes import AlertEpisodes, EpisodeRow, Kind
from alerting.domain.model import AlertStatus

F, R = AlertStatus.FIRING, AlertStatus.RESOLVED


def rows(*events: tuple[AlertStatus, int]) -> list[tuple[int, Kind]]:
    model = AlertEpisodes()
    for status, ts in events:
        model.apply(status, ts)
    return [(r.episode, r.kind) for r in model.rows]


def test_repeated_firings_are_one_episode() -> None:
    assert rows((F, 1), (F, 1), (F, 2), (F, 3)) == [(1, Kind.FIRING)]


def test_a_resolved_closes_the_episode_once() -> None:
    assert rows((F, 1), (R, 5), (R, 5), (R, 6)) == [(1, Kind.FIRING), (1, Kind.RESOLVED)]


def test_a_firing_after_a_resolved_opens_the_next_episode() -> None:
    assert rows((F, 1), (R, 5), (F, 6), (R, 9)) == [
        (1, Kind.FIRING),
        (1, Kind.RESOLVED),
        (2, Kind.FIRING),
        (2, Kind.RESOLVED),
    ]


def test_a_firing_not_newer_than_the_resolved_is_a_late_resend() -> None:
    assert rows((F, 1), (R, 5), (F, 4)) == [(1, Kind.FIRING), (1, Kind.RESOLVED)]
    # Same second: taken for a re-send (a derived id hashes event_ts, so every event of
    # such an alert has the same one), and a replay of [F, R] must not reopen it.
    assert rows((F, 5), (R, 5), (F, 5)) == [(1, Kind.FIRING), (1, Kind.RESOLVED)]
    assert rows((F, 1), (R, 5), (F, 6)) == [(1, Kind.FIRING), (1, Kind.RESOLVED), (2, Kind.FIRING)]


def test_a_resolved_older_than_the_open_firing_is_a_late_resend() -> None:
    # A replay of [R(5), F(9)] after both were applied must not close episode 2.
    assert rows((F, 1), (R, 5), (F, 9), (R, 5), (F, 9)) == [
        (1, Kind.FIRING),
        (1, Kind.RESOLVED),
        (2, Kind.FIRING),
    ]


def test_a_resolved_without_an_open_episode_makes_nothing() -> None:
    model = AlertEpisodes()
    assert model.apply(R, 5) is None
    assert model.open_episode is None
    assert model.apply(F, 1) == EpisodeRow(1, Kind.FIRING, 1)
    assert model.open_episode == 1
