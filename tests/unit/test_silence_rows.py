"""Silence rows become snapshot entries only when the domain accepts them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerting import codec
from alerting.domain.silences import InvalidSilence, MatchOp
from alerting.services.rule_updater.silence_rows import entry_of, silence_of

START = datetime(2026, 1, 5, tzinfo=UTC)


def row(**changes: Any) -> dict[str, Any]:
    return {
        "silence_id": "s1",
        "client_id": "acme",
        "matchers": [{"name": "source", "op": "=~", "value": "db-.*"}],
        "starts_at": START,
        "ends_at": START + timedelta(hours=1),
        "time_zone": None,
        "weekly": None,
        "version": 3,
        **changes,
    }


def test_a_window_row_reads_its_zone_and_weekly_ranges() -> None:
    window = silence_of(
        row(
            ends_at=None,
            time_zone="Europe/Paris",
            weekly=[{"days": [0, 4], "start_minute": 60, "end_minute": 120}],
        )
    )
    assert window.schedule is not None and window.schedule.time_zone == "Europe/Paris"
    (weekly,) = window.schedule.ranges
    assert (weekly.days, weekly.start_minute, weekly.end_minute) == (frozenset({0, 4}), 60, 120)
    assert window.matchers[0].op is MatchOp.REGEX


def test_the_entry_carries_the_version_and_decodes_to_the_same_silence() -> None:
    entry = entry_of(row())
    assert entry is not None and entry.version == 3
    assert codec.silence_from_message(entry) == silence_of(row())


@pytest.mark.parametrize(
    "bad",
    [
        {"matchers": [{"name": "source", "op": "~~", "value": "x"}]},
        {"matchers": [{"name": "host", "op": "=", "value": "x"}]},
        {"matchers": [{"name": "source"}]},
        {"matchers": []},
        {"ends_at": None},
    ],
)
def test_a_row_the_domain_refuses_is_left_out(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidSilence):
        silence_of(row(**bad))
    assert entry_of(row(**bad)) is None
