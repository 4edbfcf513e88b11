"""The metrics service's report as Prometheus gauges (alerting.services.metrics.exported)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, generate_latest

from alerting.services.metrics.exported import PipelineCollector, families
from alerting.services.metrics.sampler import Report

BODY = {
    "stages": [
        {"stage": "ingest", "topic": "alerts.new", "produced_total": 10, "produced_per_s": 1.0},
        {
            "stage": "evaluator",
            "group": "alerting-evaluator",
            "topic": "alerts.new",
            "lag": 4,
            "dlq_total": 1,
        },
        # A topic not created yet: its numbers are unknown, not zero.
        {
            "stage": "sender",
            "group": "alerting-sender",
            "topic": "notifications.ready",
            "lag": None,
            "dlq_total": None,
        },
    ],
    "notifications": {"PENDING": 2, "FAILED": 1},
    "deliveries": None,  # Postgres did not answer this round
}


Key = tuple[str, tuple[tuple[str, str], ...]]


def samples(body: dict[str, object], age: float) -> dict[Key, float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in families(body, age)
        for s in family.samples
    }


def test_known_numbers_become_gauges_and_unknown_ones_are_left_out() -> None:
    assert samples(BODY, 1.5) == {
        (
            "alerting_pipeline_consumer_lag",
            (("group", "alerting-evaluator"), ("stage", "evaluator"), ("topic", "alerts.new")),
        ): 4,
        ("alerting_pipeline_dead_letters", (("stage", "evaluator"), ("topic", "alerts.new"))): 1,
        ("alerting_pipeline_notifications", (("status", "PENDING"),)): 2,
        ("alerting_pipeline_notifications", (("status", "FAILED"),)): 1,
        ("alerting_pipeline_sample_age_seconds", ()): 1.5,
    }


def test_collector_exports_nothing_before_the_first_round_then_the_latest() -> None:
    latest: list[Report | None] = [None]
    registry = CollectorRegistry()
    registry.register(PipelineCollector(lambda: latest[0]))
    assert b"alerting_pipeline" not in generate_latest(registry)

    latest[0] = Report(BODY, time.monotonic() - 2.0)
    text = generate_latest(registry).decode()
    assert 'alerting_pipeline_notifications{status="PENDING"} 2.0' in text
    age = next(
        float(line.split()[1])
        for line in text.splitlines()
        if line.startswith("alerting_pipeline_sample_age_seconds ")
    )
    assert 2.0 <= age < 10.0
