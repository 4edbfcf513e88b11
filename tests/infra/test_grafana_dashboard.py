"""deploy/grafana/alerting-pipeline.json: valid JSON, the datasource a variable, every
panel's PromQL naming only exported series, and every expression accepted by a real
Prometheus (its query API parses what promtool cannot check on its own)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from alerting.peers import servers
from tests.monitoring_support import DASHBOARD, known_series, unknown_references
from tests.ports import free_port

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# Grafana fills these in before a query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "1m"}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def queries(board: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in board["panels"]
        for target in panel.get("targets", ())
    ]


def as_sent(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


@pytest.fixture(scope="module")
def prometheus(peer_binaries: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus with nothing to scrape: it parses and evaluates queries."""
    directory: Path = tmp_path_factory.mktemp("prometheus")
    peer = servers.start_prometheus(directory, free_port(), {"global": {}}, {})
    try:
        yield peer.url
    finally:
        peer.stop()


def query(url: str, expr: str) -> httpx.Response:
    return httpx.get(f"{url}/api/v1/query", params={"query": as_sent(expr)}, timeout=10)


def test_dashboard_is_valid_json_with_a_datasource_variable() -> None:
    board = dashboard()
    assert board["uid"] == "alerting-pipeline"
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    panels = [p for p in board["panels"] if p["type"] != "row"]
    assert len(panels) >= 20
    for panel in panels:
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        assert all(t["datasource"] == DATASOURCE for t in panel["targets"]), panel["title"]
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])


def test_panels_name_only_exported_series_and_labels() -> None:
    known = known_series()
    problems = {
        f"{title}: {expr}": found
        for title, expr in queries(dashboard())
        if (found := unknown_references(expr, known))
    }
    assert problems == {}


def test_dashboard_covers_the_pipeline() -> None:
    """The signals the dashboard exists for each have a panel."""
    text = " ".join(expr for _, expr in queries(dashboard()))
    for series in (
        "alerting_processed_messages_total",  # per-stage throughput
        "alerting_pipeline_consumer_lag",
        "alerting_pipeline_dead_letters",
        "alerting_pipeline_notifications",
        "alerting_sender_delivery_duration_seconds_bucket",
        "alerting_sender_deliveries_total",
    ):
        assert series in text, series


def test_every_panel_query_parses_in_prometheus(prometheus: str) -> None:
    failures = {}
    for title, expr in queries(dashboard()):
        response = query(prometheus, expr)
        if response.status_code != 200 or response.json()["status"] != "success":
            failures[title] = response.text[:300]
    assert failures == {}


def test_prometheus_rejects_a_broken_panel_query(prometheus: str) -> None:
    """The twin of the check above: a broken expression does fail it."""
    title, expr = queries(dashboard())[0]
    broken = expr.replace(")", "", 1)  # unbalanced parentheses
    assert broken != expr, title
    response = query(prometheus, broken)
    assert response.status_code == 400
    assert response.json()["errorType"] == "bad_data"
