"""Silences and maintenance windows as the API reads and writes them.

The wire form is for people ("mon", "02:30", an IANA zone name); the domain
(``alerting.domain.silences``) takes day numbers and minutes. The parsing lives here, so
each mistake is a 422 naming its field (``matchers[0].value``,
``schedule.ranges[1].start``, ``schedule.time_zone``); what needs several fields at once
(an end after the start, an end unless it is a window) is the domain's, checked by the
handler.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from alerting.domain import silences as domain
from alerting.services.rule_service.models.common import (
    LIVE_DESCRIPTION,
    ClientId,
    PageQuery,
    Version,
)
from alerting.web.models import RequestModel, ResponseModel, label, storable, value_text

Op = Literal["=", "!=", "=~", "!~"]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
State = Literal["active", "pending", "expired"]
MAX_RANGES = 32
TIME_PATTERN = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")
Comment = Annotated[str, StringConstraints(max_length=1000), AfterValidator(value_text)]
MatcherName = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(label)]
MatcherValue = Annotated[
    str, StringConstraints(max_length=domain.MAX_VALUE_LENGTH), AfterValidator(value_text)
]
ZoneName = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(storable)]
TimeOfDay = Annotated[str, Field(description="local wall-clock time, HH:MM (24:00 as an end)")]


def _refuse(error: domain.InvalidSilence) -> PydanticCustomError:
    return PydanticCustomError("silence", error.message)


def minutes_of(text: str) -> int:
    """'HH:MM' -> minutes since midnight; ValueError when it is not such a time."""
    if not TIME_PATTERN.match(text):
        raise ValueError(f"{text[:16]!r} is not a time of day as HH:MM")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def time_of(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _utc(value: datetime | None) -> datetime | None:
    # A time at the edge of the calendar with an offset cannot be moved to UTC: a 422,
    # not an OverflowError later.
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise PydanticCustomError("silence", "out of the supported range of times") from None


class Matcher(RequestModel):
    name: MatcherName = Field(description="severity, source, name or context.<key>")
    op: Op = Field(description="= != (exact), =~ !~ (RE2 regex, anchored)")
    value: MatcherValue = Field(description="a value, or a regex of at most 1024 characters")

    @field_validator("name")
    @classmethod
    def _known_field(cls, name: str) -> str:
        try:
            domain.check_matcher_name(name)
        except domain.InvalidSilence as exc:
            raise _refuse(exc) from None
        return name

    @field_validator("value")
    @classmethod
    def _compiles(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("op") in ("=~", "!~"):
            try:
                domain.compile_regex(value)
            except domain.InvalidSilence as exc:
                raise _refuse(exc) from None
        return value

    def to_domain(self) -> domain.Matcher:
        return domain.Matcher(self.name, domain.MatchOp(self.op), self.value)


class WeeklyRange(RequestModel):
    """[start, end) on each listed day; an end at or before the start runs past midnight."""

    days: list[Day] = Field(min_length=1, max_length=7)
    start: TimeOfDay
    end: TimeOfDay

    @field_validator("start")
    @classmethod
    def _start(cls, text: str) -> str:
        if minutes_of(text) >= domain.MINUTES_PER_DAY:
            raise ValueError("a start is a time of day from 00:00 to 23:59")
        return text

    @field_validator("end")
    @classmethod
    def _end(cls, text: str) -> str:
        if minutes_of(text) == 0:
            raise ValueError("an end is a time of day from 00:01 to 24:00 (midnight: 24:00)")
        return text

    def to_domain(self) -> domain.WeeklyRange:
        days = frozenset(domain.DAY_NAMES.index(d) for d in self.days)
        return domain.WeeklyRange(days, minutes_of(self.start), minutes_of(self.end))

    @classmethod
    def of(cls, stored: domain.WeeklyRange) -> WeeklyRange:
        days: list[Any] = [domain.DAY_NAMES[d] for d in sorted(stored.days)]
        return cls(days=days, start=time_of(stored.start_minute), end=time_of(stored.end_minute))


class Schedule(RequestModel):
    """A maintenance window: weekly ranges on the wall clock of an IANA time zone."""

    time_zone: ZoneName = Field(description="an IANA time zone, e.g. Europe/Paris")
    ranges: list[WeeklyRange] = Field(min_length=1, max_length=MAX_RANGES)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            domain.zone(name)
        except domain.InvalidSilence as exc:
            raise _refuse(exc) from None
        return name

    def to_domain(self) -> domain.Schedule:
        return domain.Schedule(self.time_zone, tuple(r.to_domain() for r in self.ranges))

    @classmethod
    def of(cls, stored: domain.Schedule) -> Schedule:
        return cls(time_zone=stored.time_zone, ranges=[WeeklyRange.of(r) for r in stored.ranges])


Matchers = Annotated[list[Matcher], Field(min_length=1, max_length=domain.MAX_MATCHERS)]
When = Annotated[AwareDatetime | None, AfterValidator(_utc)]


class SilenceCreate(RequestModel):
    client_id: ClientId
    matchers: Matchers = Field(description="all must hold for an alert to be muted")
    starts_at: When = Field(None, description="RFC 3339; default now")
    ends_at: When = Field(None, description="RFC 3339; required unless there is a schedule")
    comment: Comment = ""
    schedule: Schedule | None = Field(None, description="makes it a maintenance window")


class SilenceUpdate(RequestModel):
    """A partial update with the ``version`` last read. ``ends_at: null`` removes the end
    and ``schedule: null`` the schedule (a silence then needs an end)."""

    version: Version
    matchers: Matchers | None = None
    starts_at: When = None
    ends_at: When = None
    comment: Comment | None = None
    schedule: Schedule | None = None


class Silence(ResponseModel):
    silence_id: UUID
    client_id: str
    matchers: list[Matcher]
    starts_at: datetime
    ends_at: datetime | None
    comment: str
    schedule: Schedule | None
    created_by: str = Field(description="'admin' or 'key:<prefix>' (the key that created it)")
    version: int
    state: State = Field(description="now: active, pending (not started, or a window between"
                         " its ranges) or expired")  # fmt: skip
    created_at: datetime
    updated_at: datetime
    expired_at: datetime | None = Field(description="when DELETE expired it")
    live: bool = Field(description=LIVE_DESCRIPTION)

    @classmethod
    def of(cls, row: Any, silence: domain.Silence | None, now: datetime, live: bool) -> Silence:
        """The answer for a stored row and the domain silence read from it. ``None``: the
        domain refuses the row now (see ``repo.silences.readable``); its stored fields
        are shown as they are, not validated again, and it reads as pending until it is
        over, since it mutes nothing."""
        if silence is None:
            matchers = _stored_matchers(row["matchers"])
            schedule = _stored_schedule(row["time_zone"], row["weekly"])
            over = row["ends_at"] is not None and row["ends_at"] <= now
            state = domain.SilenceState.EXPIRED if over else domain.SilenceState.PENDING
        else:
            matchers = [Matcher.model_construct(name=m.name, op=m.op.value, value=m.value)
                        for m in silence.matchers]  # fmt: skip
            schedule = None if silence.schedule is None else Schedule.of(silence.schedule)
            state = silence.state_at(now)
        return cls(
            silence_id=row["silence_id"],
            client_id=row["client_id"],
            matchers=matchers,
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            comment=row["comment"],
            schedule=schedule,
            created_by=row["created_by"],
            version=row["version"],
            state=state.value,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            expired_at=row["expired_at"],
            live=live,
        )


def _stored_matchers(stored: Any) -> list[Matcher]:
    entries = stored if isinstance(stored, list) else []
    return [
        Matcher.model_construct(
            name=str(m.get("name", "")), op=m.get("op"), value=str(m.get("value", ""))
        )
        for m in entries
        if isinstance(m, dict)
    ]


def _stored_schedule(time_zone: str | None, weekly: Any) -> Schedule | None:
    if time_zone is None:
        return None
    ranges = []
    for r in weekly if isinstance(weekly, list) else []:
        try:
            days = [domain.DAY_NAMES[d] for d in sorted(r["days"])]
            start, end = time_of(r["start_minute"]), time_of(r["end_minute"])
        except (KeyError, TypeError, IndexError):
            continue
        ranges.append(WeeklyRange.model_construct(days=days, start=start, end=end))
    return Schedule.model_construct(time_zone=time_zone, ranges=ranges)


class SilencePage(ResponseModel):
    items: list[Silence]
    next_cursor: str | None = Field(
        description="with a state filter a page may hold fewer items than the limit"
    )


class SilenceQuery(PageQuery):
    client_id: ClientId | None = None
    state: State | None = Field(None, description="the state now")


class SilenceMatch(ResponseModel):
    """A silence that would mute the sample alert now."""

    silence_id: UUID
    client_id: str
    comment: str
    ends_at: datetime | None
