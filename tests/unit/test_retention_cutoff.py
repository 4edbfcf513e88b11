"""The retention's cutoff: pure arithmetic on the injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerting.services.rule_service.retention import cutoff


def test_rows_created_before_now_minus_the_retention_are_past_it() -> None:
    now = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)
    assert cutoff(now, 30) == datetime(2031, 1, 30, 12, 0, tzinfo=UTC)
    # Whole days of 24 hours, whatever the calendar: a leap day counts like any day.
    assert cutoff(datetime(2032, 3, 1, tzinfo=UTC), 1) == datetime(2032, 2, 29, tzinfo=UTC)
    assert now - cutoff(now, 3650) == timedelta(days=3650)
