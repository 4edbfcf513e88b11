"""The silence API models: people's notation (day names, HH:MM, zone names) into the
domain's ints, each refusal a 422 naming its field, and the way back for answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from alerting.domain import silences as domain
from alerting.services.rule_service.models.silences import (
    Schedule,
    Silence,
    SilenceCreate,
    SilenceUpdate,
    WeeklyRange,
    minutes_of,
    time_of,
)
from alerting.services.rule_service.repo.silences import _stored, to_domain
from alerting.web import problems


def fields_of(model: type[Any], data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return [f for f, _ in problems.from_validation(info.value, "body").errors]


@pytest.mark.parametrize(
    ("text", "minutes"), [("00:00", 0), ("02:30", 150), ("23:59", 1439), ("24:00", 1440)]
)
def test_times_of_day(text: str, minutes: int) -> None:
    assert minutes_of(text) == minutes
    assert time_of(minutes) == text


@pytest.mark.parametrize("text", ["2:30", "24:01", "25:00", "12:60", "12:3", "noon", "", "1230"])
def test_bad_times_of_day(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        minutes_of(text)


def test_a_range_becomes_day_numbers_and_minutes() -> None:
    parsed = WeeklyRange.model_validate({"days": ["sun", "mon"], "start": "22:00", "end": "02:00"})
    assert parsed.to_domain() == domain.WeeklyRange(frozenset({6, 0}), 1320, 120)
    assert WeeklyRange.of(parsed.to_domain()).model_dump() == {
        "days": ["mon", "sun"], "start": "22:00", "end": "02:00"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"days": ["Monday"]}, "days[0]"),
        ({"days": []}, "days"),
        ({"start": "24:00"}, "start"),
        ({"start": "7:00"}, "start"),
        ({"end": "00:00"}, "end"),
        ({"end": "24:30"}, "end"),
    ],
)
def test_bad_ranges_name_their_field(over: dict[str, Any], field: str) -> None:
    data = {"days": ["mon"], "start": "02:00", "end": "04:00", **over}
    assert fields_of(WeeklyRange, data) == [field]


def test_a_schedule_checks_its_zone() -> None:
    good = {"time_zone": "Europe/Paris", "ranges": [{"days": ["mon"], "start": "02:00",
                                                     "end": "04:00"}]}  # fmt: skip
    schedule = Schedule.model_validate(good).to_domain()
    # Monday 03:00 in Paris (UTC+1 in January), then 05:00.
    assert schedule.covers(datetime(2026, 1, 5, 2, tzinfo=UTC))
    assert not schedule.covers(datetime(2026, 1, 5, 4, tzinfo=UTC))
    for zone in ("Mars/Olympus", "../../etc/passwd", "Europe/Paris\x00"):
        assert fields_of(Schedule, {**good, "time_zone": zone}) == ["time_zone"]


BASE = {"client_id": "c", "matchers": [{"name": "source", "op": "=", "value": "db"}],
        "ends_at": "2030-01-01T00:00:00+02:00"}  # fmt: skip


@pytest.mark.parametrize(
    ("matcher", "field"),
    [
        ({"name": "host", "op": "=", "value": "x"}, "matchers[0].name"),
        ({"name": "context.", "op": "=", "value": "x"}, "matchers[0].name"),
        ({"name": "source", "op": "==", "value": "x"}, "matchers[0].op"),
        ({"name": "source", "op": "=~", "value": "(unclosed"}, "matchers[0].value"),
        ({"name": "source", "op": "!~", "value": "x" * 1025}, "matchers[0].value"),
        ({"name": "source", "op": "=", "value": "line\nbreak"}, "matchers[0].value"),
    ],
)
def test_bad_matchers_name_their_field(matcher: dict[str, str], field: str) -> None:
    assert fields_of(SilenceCreate, {**BASE, "matchers": [matcher]}) == [field]


def test_a_regex_value_is_checked_only_for_regex_ops() -> None:
    literal = {"name": "source", "op": "=", "value": "(unclosed"}
    parsed = SilenceCreate.model_validate({**BASE, "matchers": [literal]})
    assert parsed.matchers[0].to_domain().holds("(unclosed")
    regex = {"name": "context.env", "op": "=~", "value": "prod-.*"}
    anchored = SilenceCreate.model_validate({**BASE, "matchers": [regex]}).matchers[0].to_domain()
    assert anchored.holds("prod-eu") and not anchored.holds("preprod-eu")


def test_times_are_kept_in_utc_and_need_an_offset() -> None:
    parsed = SilenceCreate.model_validate(BASE)
    assert parsed.ends_at == datetime(2029, 12, 31, 22, tzinfo=UTC)
    assert fields_of(SilenceCreate, {**BASE, "ends_at": "2030-01-01T00:00:00"}) == ["ends_at"]
    edge = {**BASE, "starts_at": "0001-01-01T00:00:00+05:00"}
    assert fields_of(SilenceCreate, edge) == ["starts_at"]


def test_patch_tells_a_null_from_an_absent_field() -> None:
    cleared = SilenceUpdate.model_validate({"version": 2, "schedule": None})
    assert "schedule" in cleared.model_fields_set and "ends_at" not in cleared.model_fields_set
    assert fields_of(SilenceUpdate, {"comment": "x"}) == ["version"]


def test_a_stored_silence_reads_back_as_the_answer() -> None:
    now = datetime(2026, 1, 5, 2, tzinfo=UTC)
    silence = domain.Silence(
        "5a1b3c4d-0000-4000-8000-000000000001",
        "c",
        (domain.Matcher("context.env", domain.MatchOp.REGEX, "prod|live"),),
        now - timedelta(days=1),
        None,
        domain.Schedule("Europe/Paris", (domain.WeeklyRange(frozenset({0}), 120, 240),)),
    )
    matchers, starts_at, ends_at, zone, weekly = _stored(silence)
    row = {
        "silence_id": silence.silence_id, "client_id": "c", "matchers": matchers,
        "starts_at": starts_at, "ends_at": ends_at, "time_zone": zone, "weekly": weekly,
        "comment": "", "created_by": "admin", "version": 1, "created_at": now,
        "updated_at": now, "expired_at": None,
    }  # fmt: skip
    assert to_domain(row) == silence
    answer = Silence.of(row, to_domain(row), now, live=False)
    assert answer.state == "active"
    assert answer.schedule is not None and answer.schedule.ranges[0].days == ["mon"]
    assert Silence.of(row, to_domain(row), now + timedelta(hours=2), True).state == "pending"
    assert answer.matchers[0].model_dump() == {"name": "context.env", "op": "=~",
                                               "value": "prod|live"}  # fmt: skip


def test_the_openapi_document_describes_the_silence_routes() -> None:
    from alerting.services.rule_service.app import openapi_document

    paths: Any = openapi_document()["paths"]
    assert set(paths["/api/v1/silences"]) == {"get", "post"}
    assert set(paths["/api/v1/silences/{silence_id}"]) == {"get", "patch", "delete"}
    listing = paths["/api/v1/silences"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"limit", "cursor", "client_id", "state"}
    one = paths["/api/v1/silences/{silence_id}"]["patch"]
    assert one["parameters"][0]["schema"] == {"type": "string", "format": "uuid"}
    assert {"404", "409", "422"} <= set(one["responses"])
    match = paths["/api/v1/match"]["post"]["responses"]["200"]["content"]["application/json"]
    assert match["schema"]["$ref"].endswith("/MatchResponse")
