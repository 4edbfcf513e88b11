"""The pure load generator: determinism, distributions, flag parsing and pacing."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from alerting.domain.model import Severity
from alerting.services.ingest import loadgen
from alerting.services.ingest.loadgen import AlertStream, LoadSpec, SpecError

TS = 1_700_000_000


def test_the_same_seed_gives_the_same_alerts_ids_included() -> None:
    first = AlertStream(LoadSpec(seed=7)).take(200, TS)
    second = AlertStream(LoadSpec(seed=7)).take(200, TS)
    assert first == second
    assert len({a.alert_id for a in first}) == 200


def test_a_different_seed_or_tag_gives_different_alerts() -> None:
    base = AlertStream(LoadSpec(seed=7)).take(50, TS)
    other_seed = AlertStream(LoadSpec(seed=8)).take(50, TS)
    tagged = AlertStream(LoadSpec(seed=7, tag="run2")).take(50, TS)
    fields = [(a.severity, a.source, a.name) for a in base]
    assert fields != [(a.severity, a.source, a.name) for a in other_seed]
    assert {a.alert_id for a in base}.isdisjoint(a.alert_id for a in other_seed)
    assert {a.alert_id for a in base}.isdisjoint(a.alert_id for a in tagged)
    assert fields == [(a.severity, a.source, a.name) for a in tagged]
    assert tagged[3].alert_id == "lg-7-run2-000000003"
    assert tagged[3].context["loadgen_run"] == "run2"


def test_the_sequence_does_not_depend_on_how_it_is_batched() -> None:
    whole = AlertStream(LoadSpec(seed=3)).take(25, TS)
    stream = AlertStream(LoadSpec(seed=3))
    assert stream.take(10, TS) + stream.take(1, TS) + stream.take(14, TS) == whole
    assert stream.index == 25


def test_weights_are_respected_over_many_draws() -> None:
    spec = LoadSpec(
        seed=11,
        severities={"HIGH": 3, "low": 1, "CRITICAL": 0},
        sources={"payments": 1, "auth": 1},
        names={"a": 9, "b": 1},
    )
    alerts = AlertStream(spec).take(20_000, TS)
    severities = Counter(a.severity for a in alerts)
    assert set(severities) == {Severity.HIGH, Severity.LOW}  # weight 0 is never drawn
    assert 0.72 < severities[Severity.HIGH] / 20_000 < 0.78
    assert 0.47 < Counter(a.source for a in alerts)["payments"] / 20_000 < 0.53
    assert 0.88 < Counter(a.name for a in alerts)["a"] / 20_000 < 0.92


def test_defaults_cover_every_severity_and_several_sources() -> None:
    alerts = AlertStream(LoadSpec(seed=1)).take(2_000, TS)
    assert {a.severity for a in alerts} == set(Severity)
    assert len({a.source for a in alerts}) >= 5
    assert all(a.event_ts == TS and a.context["host"].startswith(a.source) for a in alerts)


def test_parse_weights() -> None:
    assert loadgen.parse_weights("HIGH=3, LOW", "severity") == {"HIGH": 3.0, "LOW": 1.0}
    assert loadgen.parse_weights("a=b=2", "name") == {"a=b": 2.0}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("HIGH=x", "severity: weight 'x' of 'HIGH' is not a number"),
        ("=3", "severity: empty value in '=3'"),
        ("HIGH=1,,LOW=1", "severity: empty value"),
    ],
)
def test_parse_weights_refuses(text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        loadgen.parse_weights(text, "severity")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (LoadSpec(severities={"SEVERE": 1}), "severity: 'SEVERE' is not one of"),
        (LoadSpec(severities={"LOW": 0}), "severity: at least one weight must be > 0"),
        (LoadSpec(sources={}), "source: give at least one value"),
        (LoadSpec(sources={"a": -1}), "source: weight of 'a' must be a finite number >= 0"),
        (LoadSpec(names={"a": float("nan")}), "name: weight of 'a' must be a finite"),
        (LoadSpec(names={"*": 1}), "'\\*' is a rule wildcard"),
        (LoadSpec(names={"x" * 201: 1}), "must be 1 to 200 characters"),
        (LoadSpec(names={f"n{i}": 1 for i in range(101)}), "name: at most 100 values"),
    ],
)
def test_bad_specs_are_refused_with_the_reason(spec: LoadSpec, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        AlertStream(spec)


def test_batch_sizes_and_pacing() -> None:
    assert list(loadgen.batch_sizes(25, 10)) == [10, 10, 5]
    assert list(itertools.islice(loadgen.batch_sizes(None, 4), 3)) == [4, 4, 4]
    assert loadgen.default_batch(5) == 1
    assert loadgen.default_batch(1000) == 100
    assert loadgen.default_batch(1_000_000) == 500
    assert loadgen.delay_before_next(100, 50.0, 1.5) == pytest.approx(0.5)
    assert loadgen.delay_before_next(100, 50.0, 3.0) == 0.0
