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
  alert whichever clients and silences read it;
- what the silences reading no context decide is remembered per (client, severity,
  source, name) until one of them may change activity (``ClientSilences``): a repeated
  alert shape costs one dict look-up per matched client with silences.
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
_MINUTE_US = 60_000_000
MEMO_ENTRIES = 100_000
_NO_CONTEXT: Mapping[str, str] = {}
Read = Callable[[codec.WireAlert], str]
# An alert field's value, read from a WireAlert (whose fields bear ALERT_FIELDS' names).
_READ: dict[str, Read] = {name: attrgetter(name) for name in ALERT_FIELDS}
_MemoKey = tuple[str, str, str, str]  # client, severity, source, name
_Decided = tuple[int, int, tuple[str, ...]]  # [since, until) in us, the silence ids


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

    def next_change(self, us: int) -> int:
        """The first instant after ``us`` at which this silence may start or stop being
        active (``_NO_END``: never). A window's schedule reads the local wall clock to
        the minute, and every zone's offset (since 1972) and its changes fall on whole
        minutes, so within its bounds it can change only at a UTC minute boundary."""
        if us < self.starts:
            return self.starts
        if us >= self.ends:
            return _NO_END
        if self.schedule is None:
            return self.ends
        return min(self.ends, (us // _MINUTE_US + 1) * _MINUTE_US)


def _predicate(op: MatchOp, value: str, regexes: dict[str, _Regex]) -> Callable[[str], bool]:
    if op is MatchOp.EQUAL:
        return value.__eq__
    if op is MatchOp.NOT_EQUAL:
        return value.__ne__
    regex = regexes.get(value)
    if regex is None:
        regex = regexes[value] = _Regex(value)
    return regex.holds if op is MatchOp.REGEX else regex.fails


class _Filed:
    """Silences filed per alert field under an ``=`` value, or unfiled: an alert tests
    only those that can hold (one look-up per field some silence is filed under)."""

    __slots__ = ("_by_field", "_tables", "_unfiled")

    def __init__(self) -> None:
        self._tables: dict[str, dict[str, list[_Compiled]]] = {}
        self._by_field: tuple[tuple[Read, dict[str, list[_Compiled]]], ...] = ()
        self._unfiled: list[_Compiled] = []

    def add(self, key: tuple[str, str] | None, compiled: _Compiled) -> None:
        if key is None:
            self._unfiled.append(compiled)
            return
        self._tables.setdefault(key[0], {}).setdefault(key[1], []).append(compiled)
        self._by_field = tuple((_READ[name], table) for name, table in self._tables.items())

    def collect(self, alert: codec.WireAlert, at: Instant, out: list[str]) -> None:
        """Append the ids of those active at ``at`` that mute ``alert``."""
        for s in self._unfiled:
            if s.mutes(alert, at):
                out.append(s.silence_id)
        for read, table in self._by_field:
            hit = table.get(read(alert))
            if hit:
                for s in hit:
                    if s.mutes(alert, at):
                        out.append(s.silence_id)


class ClientSilences:
    """One client's silences, and what they decided for the alert shapes seen.

    Silences that read no context decide from (severity, source, name) and the instant
    alone, so their answer is remembered per (client, severity, source, name) in a memo
    shared by the clients of one ``Silencing`` (one loaded snapshot: a new snapshot
    starts a new memo). An entry holds for ``[since, until)``: the span, around the
    instant it was decided, in which none of these silences changes activity (see
    ``_Compiled.next_change``), so any instant in it gets the same answer, and an
    instant outside it (later, or earlier after a clock step back) decides again. The
    memo is cleared when it reaches ``MEMO_ENTRIES`` (about 30 MB). Context-reading
    silences are tested per alert, as the context varies. One event loop calls this:
    no locks.
    """

    __slots__ = (
        "_client",
        "_keys",
        "_memo",
        "_plain",
        "_plains",
        "_reading",
        "_span",
        "only_table",
    )

    def __init__(self, client_id: str, memo: dict[_MemoKey, _Decided]) -> None:
        self._client = client_id
        self._memo = memo
        self._plain = _Filed()  # read no context: memoised
        self._plains: list[_Compiled] = []
        self._reading: _Filed | None = None  # read the context: tested per alert
        self._span = (0, 0)  # [since, until) in which no plain silence changes activity
        self._keys: dict[str, set[str]] = {}  # filing field -> values; "" -> unfiled
        # When every silence is filed under one field: its reader and values, so the
        # matcher skips ``muting`` for an alert no silence is filed under (the usual
        # case) with one look-up, no call.
        self.only_table: tuple[Read, set[str]] | None = None

    def add(self, silence: Silence, compiled: _Compiled) -> None:
        key = silence.filing_key
        if compiled.reads:
            self._reading = self._reading or _Filed()
            self._reading.add(key, compiled)
        else:
            self._plain.add(key, compiled)
            self._plains.append(compiled)
        field, value = key or ("", "")
        self._keys.setdefault(field, set()).add(value)
        only = next(iter(self._keys)) if len(self._keys) == 1 else ""
        self.only_table = (_READ[only], self._keys[only]) if only else None

    def muting(self, alert: codec.WireAlert, at: Instant) -> tuple[str, ...]:
        """Sorted ids of the silences active at ``at`` that mute ``alert``."""
        us = at.us
        key = (self._client, alert.severity, alert.source, alert.name)
        entry = self._memo.get(key)
        if entry is not None and entry[0] <= us < entry[1]:
            ids = entry[2]
        else:
            ids = self._decide(key, alert, at)
        if self._reading is None:
            return ids
        more: list[str] = []
        self._reading.collect(alert, at, more)
        return tuple(sorted((*ids, *more))) if more else ids

    def _decide(self, key: _MemoKey, alert: codec.WireAlert, at: Instant) -> tuple[str, ...]:
        us = at.us
        since, until = self._span
        if not since <= us < until:
            until = min((s.next_change(us) for s in self._plains), default=_NO_END)
            since, until = self._span = (us, until)
        out: list[str] = []
        self._plain.collect(alert, at, out)
        ids = tuple(sorted(out))
        if len(self._memo) >= MEMO_ENTRIES:
            self._memo.clear()
        self._memo[key] = (since, until, ids)
        return ids


class Silencing:
    """Every client's compiled silences; ``clients.get(id)`` is the hot path's pre-test."""

    def __init__(self, silences: Iterable[Silence] = ()) -> None:
        regexes: dict[str, _Regex] = {}
        clients: dict[str, ClientSilences] = {}
        self.memo: dict[_MemoKey, _Decided] = {}
        count = 0
        for s in silences:
            count += 1
            silenced = clients.get(s.client_id)
            if silenced is None:
                silenced = clients[s.client_id] = ClientSilences(s.client_id, self.memo)
            silenced.add(s, _Compiled(s, regexes))
        self.clients = clients
        self._size = count

    def __len__(self) -> int:
        return self._size
