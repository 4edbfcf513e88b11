"""The evaluator's compiled silences answer exactly what the domain's SilenceIndex does."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerting import codec
from alerting.domain.model import Alert, MatchingRule, Severity
from alerting.domain.silences import (
    AlertFields,
    Matcher,
    MatchOp,
    Schedule,
    Silence,
    SilenceIndex,
    WeeklyRange,
)
from alerting.services.evaluator.matcher import Matcher as EvaluatorMatcher
from alerting.services.evaluator.silencing import ClientSilences, Instant, Silencing

BASE = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)  # the eve of a daylight-saving change
VALUES = ["HIGH", "LOW", "db", "web", "cpu", "", "db-1"]
PATTERNS = ["db.*", "HIGH|LOW", "[a-z]+", "", ".*-1"]
CLIENTS = ["a", "b"]

matchers = st.one_of(
    st.builds(
        Matcher,
        st.sampled_from(["severity", "source", "name", "context.k", "context.j"]),
        st.sampled_from([MatchOp.EQUAL, MatchOp.NOT_EQUAL]),
        st.sampled_from(VALUES),
    ),
    st.builds(
        Matcher,
        st.sampled_from(["severity", "source", "name", "context.k"]),
        st.sampled_from([MatchOp.REGEX, MatchOp.NOT_REGEX]),
        st.sampled_from(PATTERNS),
    ),
)
offsets = st.integers(-180, 180).map(lambda m: BASE + timedelta(minutes=m, microseconds=7))
schedules = st.builds(
    lambda zone, days, start, length: Schedule(
        zone, (WeeklyRange(days, start, (start + length) % 1440 or 1440),)
    ),
    st.sampled_from(["Europe/Paris", "UTC", "America/New_York"]),
    st.integers(0, 6).map(lambda day: frozenset({day})) | st.just(frozenset(range(7))),
    st.integers(0, 1439),
    st.integers(1, 600),
)


@st.composite
def silences(draw: st.DrawFn) -> list[Silence]:
    out = []
    for i in range(draw(st.integers(0, 8))):
        starts = draw(offsets)
        window = draw(st.none() | schedules)
        length = draw(st.integers(1, 240))
        ends = starts + timedelta(minutes=length)
        out.append(
            Silence(
                f"s{i}",
                draw(st.sampled_from(CLIENTS)),
                tuple(draw(st.lists(matchers, min_size=1, max_size=3))),
                starts,
                None if window is not None and draw(st.booleans()) else ends,
                window,
            )
        )
    return out


alerts = st.builds(
    lambda severity, source, name, context: Alert("x", severity, source, name, 1, context),
    st.sampled_from([Severity.HIGH, Severity.LOW]),
    st.sampled_from(VALUES[2:5] + VALUES[6:]),  # sources and names are never empty
    st.sampled_from(VALUES[2:5] + VALUES[6:]),
    st.dictionaries(st.sampled_from(["k", "j"]), st.sampled_from(VALUES), max_size=2),
)


@settings(max_examples=500, deadline=None)
@given(silences(), st.lists(alerts, min_size=1, max_size=4), offsets)
def test_compiled_silences_mute_what_the_domain_index_mutes(
    made: list[Silence], batch: list[Alert], now: datetime
) -> None:
    index, compiled = SilenceIndex(made), Silencing(made)
    matcher = EvaluatorMatcher([MatchingRule(f"r-{c}", c, "*", "*", "*") for c in CLIENTS], made)
    at = Instant(now)  # one per batch, as the evaluator makes it
    assert len(compiled) == len(made)
    for alert in batch:
        wire = codec.decode_wire_alert(codec.encode_alert(alert))
        fields = AlertFields(
            alert.severity.value, alert.source, alert.name, lambda a=alert: dict(a.context)
        )
        for client in CLIENTS:
            silenced = compiled.clients.get(client)
            assert (silenced is not None) == index.has_client(client)
            got = list(silenced.muting(wire, at)) if silenced is not None else []
            assert got == index.muting(client, fields, now)
        # The matcher's short cut (one look-up when all of a client's silences are
        # filed under one field) answers the same.
        for _, value in matcher.matches(wire, at):
            match = codec.decode_match(value)
            assert list(match.silence_ids) == index.muting(match.client_id, fields, now)


# Instants around the silences' edges: starts and ends fall 7 us past a minute, window
# ranges turn at local minutes (0 us past a UTC minute in these zones).
instants = st.builds(
    lambda m, us: BASE + timedelta(minutes=m, microseconds=us),
    st.integers(-200, 200),
    st.sampled_from([0, 6, 7, 8, 30_000_000, 59_999_999]),
)


def window_edges(schedule: Schedule) -> list[datetime]:
    """Where the schedule's ranges start and end around BASE, as instants."""
    zone = ZoneInfo(schedule.time_zone)
    midnight = BASE.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    return [
        (midnight + timedelta(days=day, minutes=minute)).replace(tzinfo=None).replace(tzinfo=zone)
        for day in (-1, 0, 1)
        for r in schedule.ranges
        for minute in (r.start_minute, r.end_minute)
    ]


@st.composite
def timelines(draw: st.DrawFn) -> tuple[list[Silence], list[tuple[datetime, list[Alert]]]]:
    """Silences, and batches of a few alerts (so that shapes repeat) at instants some of
    which cross their edges (starts, ends, window ranges)."""
    made = draw(silences())
    pool = draw(st.lists(alerts, min_size=1, max_size=3))
    edges = [s.starts_at for s in made] + [s.ends_at for s in made if s.ends_at is not None]
    edges += [edge for s in made if s.schedule is not None for edge in window_edges(s.schedule)]
    # An edge comes as two instants, a microsecond before it and at or after it.
    across = st.tuples(st.sampled_from(edges), st.integers(0, 1)).map(
        lambda e: [e[0] - timedelta(microseconds=1), e[0] + timedelta(microseconds=e[1])]
    )
    when = (instants.map(lambda t: [t]) | across) if edges else instants.map(lambda t: [t])
    shapes = st.lists(st.sampled_from(pool), min_size=1, max_size=3)
    return made, [(t, draw(shapes)) for ts in draw(st.lists(when, max_size=10)) for t in ts]


# Client a's one rule matches every alert; client b's rules sit under keys that give
# every alert one key (exact for HIGH, a wildcard name for LOW), so the matcher's
# answers for b are those it checked against b's silences when the rules loaded.
KEYED_RULES = [MatchingRule("r-a", "a", "*", "*", "*")] + [
    MatchingRule(f"r-b-{source}-{name}", "b", sev, source, name if sev == "HIGH" else "*")
    for sev in ("HIGH", "LOW")
    for source in VALUES[2:5] + VALUES[6:]
    for name in (VALUES[2:5] + VALUES[6:] if sev == "HIGH" else ["*"])
]


@settings(max_examples=300, deadline=None)
@given(timelines(), st.booleans())
def test_remembered_decisions_answer_like_the_domain_index_as_time_goes_on(
    timeline: tuple[list[Silence], list[tuple[datetime, list[Alert]]]], in_order: bool
) -> None:
    """One matcher (one memo) over batches at increasing instants (or in any order, as
    after a clock step back), crossing starts, ends and window edges: every answer, from
    the memo or not, is the domain's."""
    made, batches = timeline
    if in_order:
        batches = sorted(batches, key=lambda batch: batch[0])
    index = SilenceIndex(made)
    matcher = EvaluatorMatcher(KEYED_RULES, made)
    for now, batch in batches:
        at = Instant(now)
        for alert in batch:
            wire = codec.decode_wire_alert(codec.encode_alert(alert))
            fields = AlertFields(
                alert.severity.value, alert.source, alert.name, lambda a=alert: dict(a.context)
            )
            for _, value in matcher.matches(wire, at):
                match = codec.decode_match(value)
                assert list(match.silence_ids) == index.muting(match.client_id, fields, now)


def test_a_repeated_alert_shape_is_decided_once_per_span_and_the_memo_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    starts = BASE - timedelta(hours=1)
    made = [
        Silence("s1", "a", (Matcher("name", MatchOp.REGEX, "db.*"),), starts, BASE),
        Silence("s2", "a", (Matcher("context.k", MatchOp.EQUAL, "v"),), starts, BASE),
    ]
    matcher = EvaluatorMatcher([MatchingRule("r", "a", "*", "*", "*")], made)
    calls: list[str] = []
    decide = ClientSilences.decide
    monkeypatch.setattr(ClientSilences, "decide", lambda *a: calls.append("x") or decide(*a))

    def ids(alert: Alert, now: datetime) -> list[str]:
        wire = codec.decode_wire_alert(codec.encode_alert(alert))
        (match,) = matcher.matches(wire, Instant(now))
        return list(codec.decode_match(match[1]).silence_ids)

    db = Alert("x", Severity.HIGH, "src", "db-1", 1, {"k": "v"})
    assert ids(db, BASE - timedelta(minutes=1)) == ["s1", "s2"]
    assert ids(dataclasses.replace(db, context={}), BASE - timedelta(microseconds=1)) == ["s1"]
    assert len(calls) == 1, "the second instant is in the span of the first decision"
    assert ids(db, BASE) == []
    assert len(calls) == 2, "the silences ended: decided again"
    monkeypatch.setattr("alerting.services.evaluator.silencing.MEMO_ENTRIES", 3)
    for i in range(10):
        ids(dataclasses.replace(db, name=f"db-{i}"), BASE)
        assert len(matcher.silences.memo) <= 3
