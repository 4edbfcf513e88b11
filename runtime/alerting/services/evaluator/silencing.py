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
- the context is read (from the message the codec parsed, never parsed again) only
  when a candidate's other matchers all hold; the candidates that then read it are
  filed by an ``=`` context matcher's key and value, so an alert tests only those its
  context can satisfy (``_ByContext``), whatever their number;
- what the silences decide from an alert's severity, source and name is remembered
  per shape until one of them may change activity (``Silencing``): a repeated shape
  costs one look-up per alert and one per matched client with silences.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from itertools import chain
from operator import attrgetter

from alerting import codec
from alerting.domain.silences import ALERT_FIELDS, CONTEXT_PREFIX, MatchOp, Silence, compile_regex

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_NO_END = 1 << 62
_MEMO_LIMIT = 4096
_MINUTE_US = 60_000_000
MEMO_ENTRIES = 100_000
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
    """The batch's ``now`` and what each window's schedule says of it."""

    __slots__ = ("_covers", "now", "us")

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.us = micros(now)
        self._covers: dict[int, bool] = {}

    def covers(self, silence: _Compiled) -> bool:
        found = self._covers.get(id(silence))
        if found is None:
            assert silence.schedule is not None
            found = self._covers[id(silence)] = silence.schedule.covers(self.now)
        return found


class _Compiled:
    __slots__ = (
        "checks",
        "context_key",
        "ends",
        "named",
        "reads",
        "schedule",
        "silence_id",
        "starts",
    )

    def __init__(self, silence: Silence, regexes: dict[str, _Regex]) -> None:
        self.silence_id = silence.silence_id
        self.starts = micros(silence.starts_at)
        self.ends = _NO_END if silence.ends_at is None else micros(silence.ends_at)
        self.schedule = silence.schedule
        checks: list[tuple[Read, Callable[[str], bool]]] = []
        reads: list[tuple[str, Callable[[str], bool]]] = []
        named: list[tuple[str, Callable[[str], bool]]] = []
        # An ``=`` context matcher with a value: only an alert whose context has this
        # key with this value can be muted (a missing key reads as "", never equal).
        self.context_key: tuple[str, str] | None = None
        for m in silence.matchers:
            holds = _predicate(m.op, m.value, regexes)
            if m.is_context:
                key = m.name[len(CONTEXT_PREFIX) :]
                reads.append((key, holds))
                if self.context_key is None and m.op is MatchOp.EQUAL and m.value:
                    self.context_key = (key, m.value)
            else:
                checks.append((_READ[m.name], holds))
                named.append((m.name, holds))
        self.checks = tuple(checks)
        self.named = tuple(named)
        self.reads = tuple(reads)  # context matchers, tested last

    def holds_for_shape(self, alert: codec.WireAlert, at: Instant) -> bool:
        """Active at ``at`` and every matcher on severity, source and name holds: all
        but the context, which varies between alerts of one shape."""
        if not self.starts <= at.us < self.ends:
            return False
        for read, holds in self.checks:
            if not holds(read(alert)):
                return False
        return self.schedule is None or at.covers(self)

    def may_hold(self, known: Mapping[str, str]) -> bool:
        """Whether it may mute an alert whose fields in ``known`` have these values
        (the others unknown), time and context aside."""
        return all(holds(known[name]) for name, holds in self.named if name in known)

    def context_holds(self, context: Mapping[str, str]) -> bool:
        return all(holds(context.get(key, "")) for key, holds in self.reads)

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

    def may_hold(self, known: Mapping[str, str]) -> bool:
        """Whether one of them may mute an alert with these ``known`` fields."""
        if any(s.may_hold(known) for s in self._unfiled):
            return True
        for name, table in self._tables.items():
            value = known.get(name)
            filed = table.get(value, ()) if value is not None else chain(*table.values())
            if any(s.may_hold(known) for s in filed):
                return True
        return False

    def holding(self, alert: codec.WireAlert, at: Instant) -> list[_Compiled]:
        """Those that hold for ``alert``'s shape at ``at`` (context aside)."""
        out = [s for s in self._unfiled if s.holds_for_shape(alert, at)]
        for read, table in self._by_field:
            for s in table.get(read(alert), ()):
                if s.holds_for_shape(alert, at):
                    out.append(s)
        return out


class _ByContext:
    """The silences of a decision that hold but for the context, filed by their ``=``
    context matcher's key and value: an alert looks up its value of each filing key
    (a few keys, whatever the number of silences) and tests only the silences filed
    there, plus the unfiled ones (no ``=`` context matcher: regexes, ``!=``, ``= ""``)."""

    __slots__ = ("_tables", "_unfiled")

    def __init__(self, reading: Iterable[_Compiled]) -> None:
        tables: dict[str, dict[str, list[_Compiled]]] = {}
        unfiled: list[_Compiled] = []
        for s in reading:
            if s.context_key is None:
                unfiled.append(s)
            else:
                key, value = s.context_key
                tables.setdefault(key, {}).setdefault(value, []).append(s)
        self._tables = tuple(tables.items())
        self._unfiled = tuple(unfiled)

    def muting(self, context: Mapping[str, str]) -> list[str]:
        """Ids of those whose context matchers all hold for ``context`` (unsorted)."""
        out: list[str] = []
        for s in self._unfiled:  # mostly none: a loop, not a comprehension's frame
            if s.context_holds(context):
                out.append(s.silence_id)
        if context:
            for key, table in self._tables:
                value = context.get(key)
                if value is not None:
                    for s in table.get(value, ()):
                        if s.context_holds(context):
                            out.append(s.silence_id)
        return out


class Decision:
    """What a client's silences decided for an alert shape: the sorted ids of those
    muting it (``ids``, and AlertMatched's field 11 naming them, ``encoded``, appended
    to a match as is), and those that do too if the alert's context holds (``reading``:
    tested per alert, the context varies between alerts of a shape)."""

    __slots__ = ("encoded", "ids", "reading")

    def __init__(self, holding: Iterable[_Compiled]) -> None:
        held = tuple(holding)
        self.ids = tuple(sorted(s.silence_id for s in held if not s.reads))
        self.encoded = codec.encode_match_fields("", (), self.ids) if self.ids else b""
        reading = [s for s in held if s.reads]
        self.reading = _ByContext(reading) if reading else None


class ClientSilences:
    """One client's silences."""

    __slots__ = ("_filed", "_keys", "_silences", "_span", "only_table")

    def __init__(self) -> None:
        self._filed = _Filed()
        self._silences: list[_Compiled] = []
        self._span = (0, 0)
        self._keys: dict[str, set[str]] = {}  # filing field -> values; "" -> unfiled
        # When every silence is filed under one field: its reader and values, so the
        # matcher passes over an alert none is filed under (the usual case) with one
        # look-up in this small set, before the larger per-shape memo.
        self.only_table: tuple[Read, set[str]] | None = None

    def add(self, silence: Silence, compiled: _Compiled) -> None:
        key = silence.filing_key
        self._filed.add(key, compiled)
        self._silences.append(compiled)
        field, value = key or ("", "")
        self._keys.setdefault(field, set()).add(value)
        only = next(iter(self._keys)) if len(self._keys) == 1 else ""
        self.only_table = (_READ[only], self._keys[only]) if only else None

    def may_hold(self, known: Mapping[str, str]) -> bool:
        """Whether one of them may mute an alert with these ``known`` fields (a rule
        key's fields other than wildcards): if not, the matcher forgets them for the
        answers of that key, checked once when the rules load, not per alert."""
        return self._filed.may_hold(known)

    def span(self, us: int) -> tuple[int, int]:
        """``[since, until)`` around ``us`` in which none of these silences changes
        activity (see ``_Compiled.next_change``), remembered while it lasts."""
        since, until = self._span
        if not since <= us < until:
            until = min(s.next_change(us) for s in self._silences)
            since, until = self._span = (us, until)
        return since, until

    def decide(self, alert: codec.WireAlert, at: Instant) -> Decision | None:
        """What these silences decide for ``alert``'s shape at ``at`` (None: nothing)."""
        holding = self._filed.holding(alert, at)
        return Decision(holding) if holding else None

    def muting(self, alert: codec.WireAlert, at: Instant) -> tuple[str, ...]:
        """Sorted ids of the silences active at ``at`` that mute ``alert``."""
        decision = self.decide(alert, at)
        return ids_muting(decision, alert) if decision else ()


def ids_muting(decision: Decision, alert: codec.WireAlert) -> tuple[str, ...]:
    """A shape's decision for this alert: its ids, and those whose context holds."""
    ids, reading = decision.ids, decision.reading
    if reading is None:
        return ids
    more = reading.muting(alert.message.context)
    return tuple(sorted((*ids, *more))) if more else ids


_NOTHING: Mapping[str, Decision] = {}


class Silencing:
    """Every client's compiled silences (``clients.get(id)`` is the hot path's
    pre-test), and what they decided per alert shape.

    Matchers on severity, source and name, and whether a silence is active, depend on
    the alert's shape (severity, source, name) and the instant alone, so ``decided``
    remembers, per shape, each matched client's decision: the ids muting the shape,
    and the context-reading silences that hold but for the context (tested per alert:
    the context varies). An entry holds for ``[since, until)``: the instants, around
    the one it was decided at, in which none of those clients' silences changes
    activity (starts, ends, or, for a window, turns a minute), so any instant in it gets
    the same answer; an instant outside it (later, or earlier after a clock step back)
    decides again. The memo belongs to one loaded snapshot (a new snapshot, a new
    ``Silencing``), is cleared at ``MEMO_ENTRIES`` shapes, and needs no lock (one event
    loop). A repeated shape costs one look-up per alert and one per matched client with
    silences, whatever the number of silences.
    """

    def __init__(self, silences: Iterable[Silence] = ()) -> None:
        regexes: dict[str, _Regex] = {}
        clients: dict[str, ClientSilences] = {}
        count = 0
        for s in silences:
            count += 1
            clients.setdefault(s.client_id, ClientSilences()).add(s, _Compiled(s, regexes))
        self.clients = clients
        self._size = count
        self.memo: dict[tuple[str, str, str], tuple[int, int, Mapping[str, Decision]]] = {}

    def __len__(self) -> int:
        return self._size

    def decided(
        self, alert: codec.WireAlert, matched: Iterable[str], at: Instant
    ) -> Mapping[str, Decision]:
        """Per matched client with a say on ``alert``'s shape at ``at``, its decision.
        ``matched`` is a function of the shape (the clients whose rules match it)."""
        us = at.us
        shape = (alert.severity, alert.source, alert.name)
        entry = self.memo.get(shape)
        if entry is not None and entry[0] <= us < entry[1]:
            return entry[2]
        since, until, decisions = 0, _NO_END, {}
        for client_id in matched:
            silenced = self.clients.get(client_id)
            if silenced is None:
                continue
            start, end = silenced.span(us)
            since, until = max(since, start), min(until, end)
            decision = silenced.decide(alert, at)
            if decision is not None:
                decisions[client_id] = decision
        if len(self.memo) >= MEMO_ENTRIES:
            self.memo.clear()
        found = decisions or _NOTHING
        self.memo[shape] = (since, until, found)
        return found
