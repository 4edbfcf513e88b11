"""The side-by-side case's pure parts: the alerts both sides get, latencies read from
each side's webhooks, the cases and ratio, and the result document's figures."""

from __future__ import annotations

import datetime as dt

import pytest

from alerting.bench import results, v2_alerts
from alerting.bench.alertmanager import DELIVERY_TIMEOUT_S
from alerting.bench.main import QUICK_STAGES, STAGES
from alerting.bench.plan import FULL, QUICK
from alerting.bench.poster import SENT_AT
from alerting.bench.stats import Throughput


def test_each_alert_has_labels_of_its_own_and_carries_its_post_time() -> None:
    alerts = v2_alerts.batch("am_", 10, 3, now=1_750_000_000.25)
    assert [a["labels"]["alertname"] for a in alerts] == ["am_10", "am_11", "am_12"]
    assert {a["labels"]["service"] for a in alerts} == {v2_alerts.SOURCE}
    assert {a["annotations"][SENT_AT] for a in alerts} == {"1750000000.250000"}
    starts = dt.datetime.fromisoformat(alerts[0]["startsAt"])
    ends = dt.datetime.fromisoformat(alerts[0]["endsAt"])
    assert starts.timestamp() == pytest.approx(1_750_000_000.25)
    assert (ends - starts).total_seconds() == v2_alerts.VALID_FOR_S  # firing all run long


def test_latencies_from_both_sides_webhooks() -> None:
    am_call = {
        "received_at": 100.5,
        "body": {"alerts": [{"annotations": {SENT_AT: "100.0"}}]},
    }
    platform_call = {"received_at": 101.0, "body": {"context": {SENT_AT: "100.75"}}}
    assert v2_alerts.alertmanager_latencies_ms([am_call]) == [500.0]
    assert v2_alerts.platform_latencies_ms([platform_call]) == [250.0]


def _compared() -> list[dict[str, object]]:
    return v2_alerts.compared(
        1000,
        (Throughput(1000, 2.0), [10.0] * 99 + [100.0], Throughput(1000, 0.5)),
        (Throughput(1000, 1.0), [20.0] * 99 + [50.0], Throughput(1000, 0.25)),
        "0.25.0",
    )


def test_the_ratio_is_platform_over_alertmanager() -> None:
    am, platform, ratio = _compared()
    assert am["per_s"] == 500 and platform["per_s"] == 1000
    assert am["accepted_per_s"] == 2000 and platform["accepted_per_s"] == 4000
    assert ratio["ratio"] == 2.0
    assert ratio["p99_ratio"] == pytest.approx(20.3 / 10.9, abs=1e-3)  # interpolated p99s
    assert am["case"] == "Alertmanager 0.25.0, 1,000 alerts"
    assert "alerts/s" in str(platform["figure"])


def test_a_side_with_a_zero_figure_has_no_ratio_rather_than_an_error() -> None:
    # rounded to 0.0: one alert in 1000 s, and every latency under 0.05 ms
    nothing = (Throughput(1, 1000.0), [0.01], Throughput(1000, 0.5))
    _, _, ratio = v2_alerts.compared(1000, nothing, nothing, "0.25.0")
    assert (ratio["ratio"], ratio["p99_ratio"]) == (None, None)
    assert ratio["figure"] == "n/a alerts/s, p99 n/a"
    document = results.assemble({"alertmanager": [*_compared()[:2], ratio]}, {})
    assert document["platform_to_alertmanager_ratio"] is None


def test_alerts_outlast_the_longest_run() -> None:
    assert v2_alerts.VALID_FOR_S > DELIVERY_TIMEOUT_S


def test_the_document_carries_the_side_by_side_figures_outside_the_headline() -> None:
    document = results.assemble({"alertmanager": _compared()}, {})  # type: ignore[dict-item]
    assert document["alertmanager_alerts_per_s"] == 500
    assert document["platform_v2_alerts_per_s"] == 1000
    assert document["platform_to_alertmanager_ratio"] == 2.0
    assert not set(results.HEADLINE_KEYS) & {k for k in document if "alertmanager" in k}


def test_a_case_that_could_not_run_says_why_and_has_no_figures() -> None:
    stage = v2_alerts.not_run("Prometheus and Alertmanager are not installed")
    document = results.assemble({"alertmanager": stage}, {})
    assert "alertmanager_alerts_per_s" not in document
    assert "not run: Prometheus" in results.table(document)


def test_the_side_by_side_case_runs_in_a_full_run_only() -> None:
    assert "alertmanager" in STAGES
    assert "alertmanager" not in QUICK_STAGES
    assert FULL.alertmanager_alerts == 5000
    assert FULL.scaled(0.01).alertmanager_alerts == 100
    assert QUICK.mode == "quick"
