"""What the monitoring files (deploy/prometheus, deploy/grafana) are checked against:
the series the services really export, with their labels, and promtool.

The series come from the metric objects the services define (imported here, as each
service's process imports them) and from the metrics service's pipeline gauges; a
PromQL expression may only name those series and only match on their labels (plus the
target labels Prometheus adds). That is what "an alert on a metric that does not exist"
looks like to Prometheus: no data, never an error, so it has to be caught here.
"""

from __future__ import annotations

import importlib
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

from prometheus_client.metrics import MetricWrapperBase

from alerting.peers import packages
from alerting.services.metrics.exported import families
from alerting.web.request_metrics import RequestMetrics

REPO = Path(__file__).resolve().parents[1]
PROMETHEUS_DIR = REPO / "deploy" / "prometheus"
DASHBOARD = REPO / "deploy" / "grafana" / "alerting-pipeline.json"

# Every module that defines metrics at import (grep Counter(|Gauge(|Histogram( in
# runtime/alerting); a new one belongs here, or its series fail the expression checks.
METRIC_MODULES = (
    "alerting.adapters.kafka.consumer",
    "alerting.channels.templated",
    "alerting.services.aggregator.main",
    "alerting.services.evaluator.live_rules",
    "alerting.services.evaluator.main",
    "alerting.services.ingest.publish",
    "alerting.services.ingest.sources",
    "alerting.services.ingest.web",
    "alerting.services.metrics.sampler",
    "alerting.services.rule_service.operation",
    "alerting.services.rule_service.outbox_relay",
    "alerting.services.rule_service.purger",
    "alerting.services.rule_service.releaser",
    "alerting.services.rule_service.retention",
    "alerting.services.rule_updater.updater",
    "alerting.services.sender.metrics",
)
# Labels every scraped series carries.
TARGET_LABELS = frozenset({"job", "instance"})
# A report body with every part present, for the names and labels of the pipeline gauges.
_FULL_REPORT = {
    "stages": [{"stage": "sender", "topic": "t", "group": "g", "lag": 0, "dlq_total": 0}],
    "notifications": {"SENT": 0},
    "deliveries": {"SENT": 0},
}

Series = dict[str, frozenset[str]]  # series name -> its label names


def _wrappers() -> Iterator[MetricWrapperBase]:
    for name in METRIC_MODULES:
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, MetricWrapperBase):
                yield value
            elif isinstance(value, RequestMetrics):
                yield value.requests
                yield value.latency


def _series_of(metric: MetricWrapperBase) -> Series:
    family = metric.describe()[0]
    # The label names of a parent metric; prometheus_client keeps them only there.
    labels = frozenset(metric._labelnames) | TARGET_LABELS
    if family.type == "counter":
        return {f"{family.name}_total": labels, f"{family.name}_created": labels}
    if family.type == "histogram":
        return {
            f"{family.name}_bucket": labels | {"le"},
            f"{family.name}_count": labels,
            f"{family.name}_sum": labels,
            f"{family.name}_created": labels,
        }
    return {family.name: labels}


def known_series() -> Series:
    """Every series a service of the platform exports, and Prometheus' ``up``."""
    found: Series = {"up": TARGET_LABELS}
    for metric in _wrappers():
        found.update(_series_of(metric))
    for family in families(_FULL_REPORT, 0.0):
        labels = {key for sample in family.samples for key in sample.labels}
        found[family.name] = frozenset(labels) | TARGET_LABELS
    return found


_NAME_MATCHER = re.compile(r'\{__name__=~"([^"]+)"([^}]*)\}')
_SELECTOR = re.compile(r"\b(alerting_[a-z0-9_]*)(\s*\{[^}]*\})?")
_MATCHER_LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


def unknown_references(expr: str, known: Series) -> list[str]:
    """What ``expr`` names that no service exports: series, or labels of a series.

    Handles the two ways the files select series: ``name{matchers}`` and
    ``{__name__=~"a|b", matchers}`` (each alternative must be a known series).
    """
    problems: list[str] = []
    selected: list[tuple[list[str], str]] = []
    for pattern, matchers in _NAME_MATCHER.findall(expr):
        regex = re.compile(pattern)
        names = [name for name in known if regex.fullmatch(name)]
        alternatives = pattern.count("|") + 1
        if len(names) < alternatives:
            problems.append(f"__name__=~{pattern!r} matches only {names}")
        selected.append((names, matchers))
    for name, matchers in _SELECTOR.findall(_NAME_MATCHER.sub("", expr)):
        if name not in known:
            problems.append(f"unknown series {name}")
            continue
        selected.append(([name], matchers))
    for names, matchers in selected:
        for name in names:
            for label in _MATCHER_LABEL.findall(matchers):
                if label != "__name__" and label not in known[name]:
                    problems.append(f"{name} has no label {label!r}")
    return problems


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run promtool (Debian's prometheus package, the ``peer_binaries`` fixture)."""
    return subprocess.run(
        [packages.binary("promtool"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
