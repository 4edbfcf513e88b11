"""The pipeline overview as Prometheus gauges on the metrics service's own ``/metrics``.

Consumer lag, dead letters and notification states are only known to this service (it
reads Kafka offsets and Postgres counts); exporting them lets Prometheus alert on them
and graph them (deploy/prometheus/alerts.yml, deploy/grafana/). The values are those of
the latest sampling round: a scrape never waits for Kafka or Postgres. A number the
round could not read (``null`` in the report) is left out rather than exported as 0,
so an alert on it sees "no data", not "all is well".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from alerting.services.metrics.sampler import Report


def families(body: Mapping[str, Any], age_s: float) -> list[GaugeMetricFamily]:
    """The gauges of one report body (pure: a unit test pins the mapping down)."""
    lag = GaugeMetricFamily(
        "alerting_pipeline_consumer_lag",
        "Messages produced to a stage's topic and not yet committed by its consumer group",
        labels=["stage", "topic", "group"],
    )
    dead = GaugeMetricFamily(
        "alerting_pipeline_dead_letters",
        "Messages in a stage's dead-letter topic (<topic>.dlq), ever written",
        labels=["stage", "topic"],
    )
    for stage in body.get("stages") or ():
        if stage.get("lag") is not None:
            lag.add_metric([stage["stage"], stage["topic"], stage["group"]], stage["lag"])
        if stage.get("dlq_total") is not None:
            dead.add_metric([stage["stage"], stage["topic"]], stage["dlq_total"])
    notifications = _by_status(
        "alerting_pipeline_notifications",
        "Notifications by status (deleted clients' rows excluded)",
        body.get("notifications"),
    )
    deliveries = _by_status(
        "alerting_pipeline_deliveries",
        "Deliveries (notification x endpoint) by status",
        body.get("deliveries"),
    )
    age = GaugeMetricFamily(
        "alerting_pipeline_sample_age_seconds",
        "Seconds since the served sampling round was taken",
        value=age_s,
    )
    return [lag, dead, notifications, deliveries, age]


def _by_status(
    name: str, documentation: str, counts: Mapping[str, int] | None
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["status"])
    for status, count in (counts or {}).items():
        family.add_metric([status], count)
    return family


class PipelineCollector(Collector):
    """Reads the sampler's latest report at scrape time; nothing before the first round."""

    def __init__(self, latest: Callable[[], Report | None]) -> None:
        self._latest = latest

    def collect(self) -> Iterable[GaugeMetricFamily]:
        return self._collect()

    def _collect(self) -> Iterator[GaugeMetricFamily]:
        report = self._latest()
        if report is None:
            return
        yield from families(report.body, round(time.monotonic() - report.taken_at, 3))
