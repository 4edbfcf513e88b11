"""The domain's ``SilenceIndex`` compiled for the evaluator's hot path.

Same answers as ``SilenceIndex.muting`` (a property test holds them equal), at a cost
a matched client with silences can afford on every alert:

- one dict look-up per alert field a client files silences under (none for fields no
  silence of the client is filed under), and no object built unless a candidate holds;
- time bounds compared as integer microseconds; a window's schedule, which depends on
  the instant only, is read once per instant and silence, not per alert;
- regex results remembered per pattern and value (alert fields repeat: RE2 through its
  Python binding costs microseconds per call, a dict hit tens of nanoseconds); the
  memory is bounded by clearing, like every per-process cache here;
- the context is decoded only when a candidate's other matchers all hold, and once per
  alert whichever clients and silences read it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from operator import attrgetter

from alerting import codec
from alerting.domain.silences import ALERT_FIELDS, CONTEXT_PREFIX, MatchOp, Silence, compile_regex

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_NO_END = 1 << 62
_MEMO_LIMIT = 4096
_NO_CONTEXT: Mapping[str, str] = {}
Read = Callable[[codec.WireAlert], str]
# An alert field's value, read from a WireAlert (whose fields bear ALERT_FIELDS' names).
_READ: dict[str, Read] = {name: attrgetter(name) for name in ALERT_FIELDS}


def micros(when: datetime) -> int:
    return (when - EPOCH) // _US


class _Regex:
    """One anchored RE2 program and what it answered for the values seen."""

    __slots__ = ("_program", "_seen")

    def __init__(self, pattern: str) -> None:
        self._program = compile_regex(pattern)
        self._seen: dict[str, bool] = {}

    def holds(self, value: str) -> bool:
        found = self._seen.get(value)
        if found is None:
            if len(self._seen) >= _MEMO_LIMIT:
                self._seen.clear()
            found = self._seen[value] = self._program.fullmatch(value) is not None
        return found

    def fails(self, value: str) -> bool:
        return not self.holds(value)


class Instant:
    """The batch's ``now``, what each window's schedule says of it, and the context of
    the alert being matched (decoded once, whichever clients and silences read it:
    alerts are matched one after the other)."""

    __slots__ = ("_context", "_covers", "_wire", "now", "us")

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.us = micros(now)
        self._covers: dict[int, bool] = {}
        self._wire = b""
        self._context = _NO_CONTEXT

    def context(self, wire: bytes) -> Mapping[str, str]:
        if wire is not self._wire:
            self._context = codec.alert_context_view(wire)
            self._wire = wire
        return self._context

    def covers(self, silence: _Compiled) -> bool:
        found = self._covers.get(id(silence))
        if found is None:
            assert silence.schedule is not None
            found = self._covers[id(silence)] = silence.schedule.covers(self.now)
        return found


class _Compiled:
    __slots__ = ("checks", "ends", "reads", "schedule", "silence_id", "starts")

    def __init__(self, silence: Silence, regexes: dict[str, _Regex]) -> None:
        self.silence_id = silence.silence_id
        self.starts = micros(silence.starts_at)
        self.ends = _NO_END if silence.ends_at is None else micros(silence.ends_at)
        self.schedule = silence.schedule
        checks: list[tuple[Read, Callable[[str], bool]]] = []
        reads: list[tuple[str, Callable[[str], bool]]] = []
        for m in silence.matchers:
            holds = _predicate(m.op, m.value, regexes)
            if m.is_context:
                reads.append((m.name[len(CONTEXT_PREFIX) :], holds))
            else:
                checks.append((_READ[m.name], holds))
        self.checks = tuple(checks)
        self.reads = tuple(reads)  # context matchers, tested last

    def mutes(self, alert: codec.WireAlert, at: Instant) -> bool:
        if not self.starts <= at.us < self.ends:
            return False
        for read, holds in self.checks:
            if not holds(read(alert)):
                return False
        if self.reads:
            values = at.context(alert.wire)
            for key, holds in self.reads:
                if not holds(values.get(key, "")):
                    return False
        return self.schedule is None or at.covers(self)


def _predicate(op: MatchOp, value: str, regexes: dict[str, _Regex]) -> Callable[[str], bool]:
    if op is MatchOp.EQUAL:
        return value.__eq__
    if op is MatchOp.NOT_EQUAL:
        return value.__ne__
    regex = regexes.get(value)
    if regex is None:
        regex = regexes[value] = _Regex(value)
    return regex.holds if op is MatchOp.REGEX else regex.fails


class ClientSilences:
    """One client's silences: filed per alert field under an ``=`` value, or unfiled."""

    __slots__ = ("_filed", "_tables", "_unfiled", "only_table")

    def __init__(self) -> None:
        self._tables: dict[str, dict[str, list[_Compiled]]] = {}
        self._filed: tuple[tuple[Read, dict[str, list[_Compiled]]], ...] = ()
        self._unfiled: list[_Compiled] = []
        # When every silence is filed under one field: that field and its table, so the
        # matcher skips ``muting`` for an alert no silence is filed under (the usual
        # case) with one look-up, no call.
        self.only_table: tuple[Read, dict[str, list[_Compiled]]] | None = None

    def add(self, silence: Silence, compiled: _Compiled) -> None:
        key = silence.filing_key
        if key is None:
            self._unfiled.append(compiled)
        else:
            self._tables.setdefault(key[0], {}).setdefault(key[1], []).append(compiled)
        # Only the fields some silence is filed under cost a look-up per alert.
        self._filed = tuple((_READ[name], table) for name, table in self._tables.items())
        self.only_table = self._filed[0] if len(self._filed) == 1 and not self._unfiled else None

    def muting(self, alert: codec.WireAlert, at: Instant) -> list[str]:
        """Sorted ids of the silences active at ``at`` that mute ``alert``."""
        out: list[str] = []
        for s in self._unfiled:
            if s.mutes(alert, at):
                out.append(s.silence_id)
        for read, table in self._filed:
            hit = table.get(read(alert))
            if hit:
                for s in hit:
                    if s.mutes(alert, at):
                        out.append(s.silence_id)
        if len(out) > 1:
            out.sort()
        return out


class Silencing:
    """Every client's compiled silences; ``clients.get(id)`` is the hot path's pre-test."""

    def __init__(self, silences: Iterable[Silence] = ()) -> None:
        regexes: dict[str, _Regex] = {}
        clients: dict[str, ClientSilences] = {}
        count = 0
        for s in silences:
            count += 1
            clients.setdefault(s.client_id, ClientSilences()).add(s, _Compiled(s, regexes))
        self.clients = clients
        self._size = count

    def __len__(self) -> int:
        return self._size
