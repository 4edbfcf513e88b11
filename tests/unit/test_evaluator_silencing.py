"""The evaluator's compiled silences answer exactly what the domain's SilenceIndex does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
from alerting.services.evaluator.silencing import Instant, Silencing

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
    lambda zone, day, start, length: Schedule(
        zone, (WeeklyRange(frozenset({day}), start, (start + length) % 1440 or 1440),)
    ),
    st.sampled_from(["Europe/Paris", "UTC", "America/New_York"]),
    st.integers(0, 6),
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
            got = silenced.muting(wire, at) if silenced is not None else []
            assert got == index.muting(client, fields, now)
        # The matcher's short cut (one look-up when all of a client's silences are
        # filed under one field) answers the same.
        for _, value in matcher.matches(wire, at):
            match = codec.decode_match(value)
            assert list(match.silence_ids) == index.muting(match.client_id, fields, now)
