"""`alerting dev` waits until the evaluator matches with the demo rule's snapshot: it reads
the version the evaluator exposes, which must work for clock-based (large) versions."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from alerting.dev.main import evaluator_rules_version


def exposition(version: int | None) -> str:
    registry = CollectorRegistry()
    Gauge("alerting_other", "another gauge", registry=registry).set(3)
    if version is not None:
        gauge = Gauge("alerting_evaluator_rules_version", "version", registry=registry)
        gauge.set(version)
    return generate_latest(registry).decode()


def test_reads_a_unix_milliseconds_version_exactly() -> None:
    version = 1_796_176_083_839  # written as 1.796176083839e+12 by the exposition
    assert evaluator_rules_version(exposition(version)) == version


def test_reads_a_small_version_and_none_before_the_gauge_exists() -> None:
    assert evaluator_rules_version(exposition(7)) == 7
    assert evaluator_rules_version(exposition(None)) is None
