"""Pure computations of the metrics service: lag, rates, status filling, Prometheus parsing."""

from __future__ import annotations

import argparse

import pytest

from alerting import config
from alerting.services.metrics.compute import (
    NOTIFICATION_STATUSES,
    MeasuredStage,
    OffsetsSample,
    Window,
    committed_total,
    fill_statuses,
    lag,
    rate,
    stage_report,
)
from alerting.services.metrics.main import parse_groups, pipeline_stages
from alerting.services.metrics.scrape import parse_counters

EVALUATOR = MeasuredStage("evaluator", "alerts.new", "alerting-evaluator")
INGEST = MeasuredStage("ingest", "alerts.new")


def sample(at: float, highwater: dict[int, int], committed: dict[int, int]) -> OffsetsSample:
    return OffsetsSample(
        at,
        {"alerts.new": highwater, "alerts.new.dlq": {0: 2}},
        {"alerting-evaluator": committed},
    )


def test_lag_counts_uncommitted_partitions_from_the_start() -> None:
    assert lag({0: 10, 1: 7, 2: 0}, {0: 4}) == 6 + 7
    assert committed_total({0: 10, 1: 7, 2: 0}, {0: 4}) == 4


def test_lag_never_goes_negative_when_a_commit_is_newer_than_the_highwater() -> None:
    assert lag({0: 10, 1: 5}, {0: 12, 1: 5}) == 0


def test_rate_from_two_samples() -> None:
    assert rate(100, 600, 5.0) == 100.0
    assert rate(100, 100, 5.0) == 0.0


@pytest.mark.parametrize(("older", "newer", "seconds"), [(600, 100, 5.0), (1, 2, 0.0)])
def test_rate_is_unknown_after_a_reset_or_without_elapsed_time(
    older: int, newer: int, seconds: float
) -> None:
    assert rate(older, newer, seconds) is None


def test_stage_rates_span_the_window_and_totals_come_from_the_newest_sample() -> None:
    window = Window(60)
    window.add(sample(0.0, {0: 100, 1: 100}, {0: 50}))
    window.add(sample(5.0, {0: 300, 1: 300}, {0: 250, 1: 100}))
    evaluator = stage_report(EVALUATOR, window, "alerts.new.dlq")
    assert evaluator == {
        "stage": "evaluator",
        "group": "alerting-evaluator",
        "topic": "alerts.new",
        "produced_total": 600,
        "committed_total": 350,
        "lag": 250,
        "consumed_per_s": 60.0,  # (350 - 50) / 5 s
        "dlq_total": 2,
    }
    ingest = stage_report(INGEST, window, "alerts.new.dlq")
    assert ingest == {
        "stage": "ingest",
        "topic": "alerts.new",
        "produced_total": 600,
        "produced_per_s": 80.0,  # (600 - 200) / 5 s
    }
    assert window.span_of_rates() == 5.0


def test_one_sample_gives_totals_but_no_rates() -> None:
    window = Window(60)
    window.add(sample(0.0, {0: 10}, {}))
    report = stage_report(EVALUATOR, window, "alerts.new.dlq")
    assert (report["lag"], report["consumed_per_s"]) == (10, None)
    assert window.span_of_rates() is None


def test_the_window_keeps_one_sample_at_least_its_span_old() -> None:
    window = Window(10)
    for at in (0.0, 4.0, 8.0, 12.0, 16.0):
        window.add(sample(at, {0: int(at) * 10}, {}))
    assert window.oldest is not None and window.oldest.at == 4.0  # 16 - 4 >= 10 > 16 - 8
    assert stage_report(INGEST, window, "x")["produced_per_s"] == 10.0


def test_a_missing_topic_reports_unknown_numbers() -> None:
    window = Window(60)
    window.add(OffsetsSample(0.0, {}, {}))
    report = stage_report(EVALUATOR, window, "alerts.new.dlq")
    assert report["produced_total"] is None and report["lag"] is None
    assert report["dlq_total"] is None


def test_status_normalisation_fills_missing_statuses_with_zero() -> None:
    assert fill_statuses({"SENT": 3, "FAILED": 1}, NOTIFICATION_STATUSES) == {
        "PENDING": 0,
        "SENDING": 0,
        "RETRY": 0,
        "SENT": 3,
        "FAILED": 1,
        "GROUPED": 0,
    }


PROMETHEUS_TEXT = """\
# HELP alerting_consumed_messages_total Messages taken from Kafka
# TYPE alerting_consumed_messages_total counter
alerting_consumed_messages_total{topic="alerts.new"} 120.0
alerting_consumed_messages_total{topic="alerts.new.retry"} 5.0
# HELP alerting_consumed_messages_created Messages taken from Kafka
# TYPE alerting_consumed_messages_created gauge
alerting_consumed_messages_created{topic="alerts.new"} 1.7e+09
# HELP alerting_processed_messages_total Messages handled and committed
# TYPE alerting_processed_messages_total counter
alerting_processed_messages_total{topic="alerts.new"} 118.0
# HELP alerting_dead_lettered_messages_total Messages sent to a .dlq topic
# TYPE alerting_dead_lettered_messages_total counter
alerting_dead_lettered_messages_total{topic="alerts.new"} 2.0
# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 4.2
"""


def test_prometheus_counters_are_summed_over_labels_and_absent_ones_are_zero() -> None:
    assert parse_counters(PROMETHEUS_TEXT) == {
        "consumed_total": 125,
        "processed_total": 118,
        "dead_lettered_total": 2,
        "failed_batches_total": 0,
    }


def test_text_that_is_not_prometheus_format_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_counters("<html>{{{ not metrics")


def test_stages_use_default_group_names_even_when_one_group_is_configured() -> None:
    settings = config.load({"ALERTING_CONSUMER_GROUP": "shared"})
    stages = pipeline_stages(settings, parse_groups(["sender=custom-sender"]))
    assert [(s.stage, s.group) for s in stages] == [
        ("ingest", None),
        ("evaluator", "alerting-evaluator"),
        ("aggregator", "alerting-aggregator"),
        ("sender", "custom-sender"),
        ("rule-updater", "alerting-rule-updater"),
    ]


@pytest.mark.parametrize("item", ["sender", "ingest=x", "nobody=x", "sender="])
def test_bad_group_overrides_are_refused(item: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_groups([item])
