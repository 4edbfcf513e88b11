"""Silences and maintenance windows: which alerts they mute, and when. No I/O.

A silence belongs to one client and mutes that client's firing notifications of the
alerts all its matchers hold for, from ``starts_at`` until ``ends_at``. A maintenance
window is a silence with a weekly ``Schedule`` in a named IANA time zone: inside its
bounds it is active only during the schedule's ranges, read on the zone's wall clock
(so a 02:00-04:00 window stays 02:00-04:00 local across daylight-saving changes).

Regexes are RE2 (linear time, no backtracking blow-up on attacker-controlled alert
text) and anchored like Alertmanager's: ``=~ "db-.*"`` must match the whole value.

``SilenceIndex`` answers "which of this client's silences mute this alert" without
testing every silence: a silence with an ``=`` matcher on severity, source or name is
filed under that value, so only silences that can hold are tested; the rest (regex or
negative matchers only) are tested one by one, per client. The cost per alert follows
the client's candidate silences, not all silences.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

import re2

MAX_REGEX_LENGTH = 1024
MAX_MATCHERS = 16
MAX_VALUE_LENGTH = 1024
CONTEXT_PREFIX = "context."
ALERT_FIELDS = ("severity", "source", "name")
MINUTES_PER_DAY = 24 * 60
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# RE2 refuses programs past its memory budget; this keeps one silence's regex small.
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.max_mem = 1 << 20


class InvalidSilence(ValueError):
    """A silence definition that cannot be used; ``field`` names the offending part."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class MatchOp(StrEnum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


def compile_regex(pattern: str, where: str = "value") -> Any:
    """The anchored RE2 program of ``pattern``, or ``InvalidSilence`` naming why not."""
    if len(pattern) > MAX_REGEX_LENGTH:
        raise InvalidSilence(where, f"a regex is at most {MAX_REGEX_LENGTH} characters")
    try:
        return re2.compile(f"(?:{pattern})", _RE2_OPTIONS)
    except re2.error as exc:
        raise InvalidSilence(where, f"not a valid RE2 regex: {exc}") from None


def check_matcher_name(name: str, where: str = "name") -> None:
    if name in ALERT_FIELDS:
        return
    if name.startswith(CONTEXT_PREFIX) and len(name) > len(CONTEXT_PREFIX):
        return
    raise InvalidSilence(where, "must be severity, source, name or context.<key>")


@dataclass(frozen=True, slots=True)
class Matcher:
    """One condition on an alert field; a context key the alert lacks reads as ""."""

    name: str
    op: MatchOp
    value: str

    def __post_init__(self) -> None:
        check_matcher_name(self.name)
        if len(self.value) > MAX_VALUE_LENGTH:
            raise InvalidSilence("value", f"at most {MAX_VALUE_LENGTH} characters")
        if self.op in (MatchOp.REGEX, MatchOp.NOT_REGEX):
            compile_regex(self.value)

    @property
    def is_context(self) -> bool:
        return self.name.startswith(CONTEXT_PREFIX)

    def holds(self, value: str) -> bool:
        op = self.op
        if op is MatchOp.EQUAL:
            return value == self.value
        if op is MatchOp.NOT_EQUAL:
            return value != self.value
        found = _regex(self.value).fullmatch(value) is not None
        return found if op is MatchOp.REGEX else not found


_COMPILED: dict[str, Any] = {}


def _regex(pattern: str) -> Any:
    # Matchers are frozen slotted values (no room for a cached program); the programs are
    # shared here instead, bounded by clearing, like every per-process cache.
    found = _COMPILED.get(pattern)
    if found is None:
        if len(_COMPILED) >= 10_000:
            _COMPILED.clear()
        found = _COMPILED[pattern] = compile_regex(pattern)
    return found


@dataclass(frozen=True, slots=True)
class WeeklyRange:
    """Local wall-clock minutes [start, end) on each of ``days`` (0 = Monday); an end at
    or before the start runs past midnight into the next day."""

    days: frozenset[int]
    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        if not self.days or not all(0 <= d <= 6 for d in self.days):
            raise InvalidSilence("days", f"one or more of {', '.join(DAY_NAMES)}")
        if not 0 <= self.start_minute < MINUTES_PER_DAY:
            raise InvalidSilence("start", "a time of day from 00:00 to 23:59")
        if not 0 < self.end_minute <= MINUTES_PER_DAY:
            raise InvalidSilence("end", "a time of day from 00:01 to 24:00")

    def covers(self, weekday: int, minute: int) -> bool:
        start, end = self.start_minute, self.end_minute
        if start < end:
            return weekday in self.days and start <= minute < end
        # Past midnight: the evening part on a listed day, the morning part on the next.
        return (weekday in self.days and minute >= start) or (
            (weekday - 1) % 7 in self.days and minute < end
        )


@dataclass(frozen=True, slots=True)
class Schedule:
    time_zone: str
    ranges: tuple[WeeklyRange, ...]

    def __post_init__(self) -> None:
        zone(self.time_zone)
        if not self.ranges:
            raise InvalidSilence("ranges", "a maintenance window needs at least one range")

    def covers(self, when: datetime) -> bool:
        local = when.astimezone(zone(self.time_zone))
        minute = local.hour * 60 + local.minute
        return any(r.covers(local.weekday(), minute) for r in self.ranges)


_ZONES: dict[str, ZoneInfo] = {}


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ``InvalidSilence`` when there is no such zone."""
    found = _ZONES.get(name)
    if found is None:
        try:
            found = ZoneInfo(name)
        except (ValueError, KeyError, OSError):  # unknown name, bad path, no tz data
            raise InvalidSilence("time_zone", f"{name[:64]!r} is not an IANA time zone") from None
        _ZONES[name] = found
    return found


@dataclass(frozen=True, slots=True)
class AlertFields:
    """What silences read of an alert; ``context`` is fetched only if a matcher needs it
    (the evaluator keeps alerts as bytes and decodes the context on demand)."""

    severity: str
    source: str
    name: str
    context: Callable[[], Mapping[str, str]] = field(default=lambda: {})

    def value(self, name: str, context: Mapping[str, str] | None) -> str:
        if name == "severity":
            return self.severity
        if name == "source":
            return self.source
        if name == "name":
            return self.name
        return (context or {}).get(name[len(CONTEXT_PREFIX) :], "")


class SilenceState(StrEnum):
    ACTIVE = "active"
    PENDING = "pending"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Silence:
    silence_id: str
    client_id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime | None = None  # only a maintenance window may run without an end
    schedule: Schedule | None = None

    def __post_init__(self) -> None:
        if not self.matchers:
            raise InvalidSilence("matchers", "at least one matcher")
        if len(self.matchers) > MAX_MATCHERS:
            raise InvalidSilence("matchers", f"at most {MAX_MATCHERS} matchers")
        if self.starts_at.tzinfo is None or (
            self.ends_at is not None and self.ends_at.tzinfo is None
        ):
            raise InvalidSilence("starts_at", "times must carry a UTC offset")
        if self.ends_at is None and self.schedule is None:
            raise InvalidSilence("ends_at", "a silence needs an end (only windows may omit it)")
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise InvalidSilence("ends_at", "must be after starts_at")

    @property
    def is_window(self) -> bool:
        return self.schedule is not None

    def active_at(self, now: datetime) -> bool:
        if now < self.starts_at or (self.ends_at is not None and now >= self.ends_at):
            return False
        return self.schedule is None or self.schedule.covers(now)

    def ended_by(self, now: datetime) -> bool:
        """Never active again from ``now`` on."""
        return self.ends_at is not None and now >= self.ends_at

    def state_at(self, now: datetime) -> SilenceState:
        """What the API shows: a window between its ranges is pending, like a silence
        that has not started."""
        if self.ended_by(now):
            return SilenceState.EXPIRED
        return SilenceState.ACTIVE if self.active_at(now) else SilenceState.PENDING

    def mutes(self, alert: AlertFields) -> bool:
        """All matchers hold (time aside)."""
        context = alert.context() if self._needs_context else None
        return all(m.holds(alert.value(m.name, context)) for m in self.matchers)

    @cached_property
    def _needs_context(self) -> bool:
        return any(m.is_context for m in self.matchers)

    @cached_property
    def filing_key(self) -> tuple[str, str] | None:
        """An ``=`` matcher on an alert field to file this silence under, if any: the
        most selective field first (name, then source, then severity)."""
        for name in ("name", "source", "severity"):
            for m in self.matchers:
                if m.name == name and m.op is MatchOp.EQUAL:
                    return name, m.value
        return None


class SilenceIndex:
    """Every client's silences, filed so an alert tests only those that can hold."""

    def __init__(self, silences: Iterable[Silence] = ()) -> None:
        filed: dict[str, dict[tuple[str, str], list[Silence]]] = {}
        unfiled: dict[str, list[Silence]] = {}
        count = 0
        for s in silences:
            count += 1
            key = s.filing_key
            if key is None:
                unfiled.setdefault(s.client_id, []).append(s)
            else:
                filed.setdefault(s.client_id, {}).setdefault(key, []).append(s)
        self._filed = filed
        self._unfiled = unfiled
        self._clients = frozenset(filed) | frozenset(unfiled)
        self._size = count

    def __len__(self) -> int:
        return self._size

    def has_client(self, client_id: str) -> bool:
        """Cheap pre-test for the hot path: most matched clients have no silence."""
        return client_id in self._clients

    def muting(self, client_id: str, alert: AlertFields, now: datetime) -> list[str]:
        """Ids of the client's silences active at ``now`` that mute ``alert``, sorted."""
        if client_id not in self._clients:
            return []
        candidates: list[Silence] = list(self._unfiled.get(client_id, ()))
        filed = self._filed.get(client_id)
        if filed:
            for name in ALERT_FIELDS:
                hit = filed.get((name, alert.value(name, None)))
                if hit:
                    candidates.extend(hit)
        return sorted(s.silence_id for s in candidates if s.active_at(now) and s.mutes(alert))


def utc_from_ms(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def ms_of(when: datetime) -> int:
    return int(when.timestamp() * 1000)
