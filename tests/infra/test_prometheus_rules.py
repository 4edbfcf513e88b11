"""deploy/prometheus: the alert rules load, their unit tests pass, every alert is tested
both ways and runbooked, they name only series the services export, and the scrape
configuration covers the roster. Each check is also shown to fail on a broken twin."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerting import roster
from tests.monitoring_support import (
    METRIC_MODULES,
    PROMETHEUS_DIR,
    REPO,
    known_series,
    promtool,
    unknown_references,
)

ALERTS = PROMETHEUS_DIR / "alerts.yml"
ALERT_TESTS = PROMETHEUS_DIR / "alerts.test.yml"
SCRAPE = PROMETHEUS_DIR / "prometheus.yml"
OPERATIONS = REPO / "docs" / "operations.md"
SEVERITIES = {"critical", "warning"}


def alert_rules(path: Path = ALERTS) -> list[dict[str, Any]]:
    groups = yaml.safe_load(path.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


@pytest.fixture
def copies(tmp_path: Path) -> Path:
    """The three files in a scratch directory, to break one of them there."""
    for path in (ALERTS, ALERT_TESTS, SCRAPE):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_alert_rules_pass_promtool_check(peer_binaries: None) -> None:
    done = promtool("check", "rules", str(ALERTS))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in done.stdout


def test_alert_rule_unit_tests_pass(peer_binaries: None) -> None:
    done = promtool("test", "rules", str(ALERT_TESTS))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def break_copy(path: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must be there) by ``new`` in the scratch copy ``path``."""
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_broken_rule_file_is_rejected(peer_binaries: None, copies: Path) -> None:
    break_copy(copies / "alerts.yml", 'expr: up{job=~"alerting-.+"} == 0', "expr: up{job=~ == 0")
    done = promtool("check", "rules", str(copies / "alerts.yml"))
    assert done.returncode != 0
    assert '"AlertingServiceDown": could not parse expression' in done.stdout + done.stderr


def test_rule_test_expecting_the_wrong_thing_fails(peer_binaries: None, copies: Path) -> None:
    """A threshold moved past the test's data: the test that expected a firing alert
    must now fail, so the unit tests do pin the thresholds."""
    old, new = "alerting_outbox_backlog) > 0", "alerting_outbox_backlog) > 10"
    break_copy(copies / "alerts.yml", old, new)
    done = promtool("test", "rules", str(copies / "alerts.test.yml"))
    assert done.returncode != 0
    assert "alertname: AlertingOutboxBacklog" in done.stdout + done.stderr


def test_every_alert_is_tested_firing_and_quiet() -> None:
    tests = yaml.safe_load(ALERT_TESTS.read_text())
    assert tests["rule_files"] == ["alerts.yml"]
    fires: set[str] = set()
    quiet: set[str] = set()
    for case in tests["tests"]:
        for check in case["alert_rule_test"]:
            (fires if check["exp_alerts"] else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names - fires == set(), "alerts never shown firing"
    assert names - quiet == set(), "alerts never shown quiet"


def test_every_alert_has_severity_annotations_and_a_runbook_section() -> None:
    headings = set(re.findall(r"^### (\w+)$", OPERATIONS.read_text(), re.MULTILINE))
    for rule in alert_rules():
        name = rule["alert"]
        assert rule["labels"]["severity"] in SEVERITIES, name
        assert set(rule["annotations"]) == {"summary", "description", "runbook"}, name
        assert rule["annotations"]["runbook"] == f"docs/operations.md#{name.lower()}"
        assert name in headings, f"docs/operations.md has no '### {name}' runbook"


def test_alerts_name_only_exported_series_and_labels() -> None:
    known = known_series()
    problems = {r["alert"]: unknown_references(r["expr"], known) for r in alert_rules()}
    assert {name: p for name, p in problems.items() if p} == {}


def test_reference_check_catches_a_misspelt_series_and_label() -> None:
    known = known_series()
    expr = 'rate(alerting_sender_delivery_total[5m]) + alerting_outbox_backlog{stage="x"}'
    assert unknown_references(expr, known) == [
        "unknown series alerting_sender_delivery_total",
        "alerting_outbox_backlog has no label 'stage'",
    ]
    regex = 'rate({__name__=~"alerting_(rule_service|ingestion)_requests_total"}[5m])'
    assert unknown_references(regex, known) == [
        "__name__=~'alerting_(rule_service|ingestion)_requests_total' matches only"
        " ['alerting_rule_service_requests_total']"
    ]


def test_metric_modules_list_every_module_that_defines_metrics() -> None:
    """known_series imports METRIC_MODULES: a new metric elsewhere must be added there."""
    defining = set()
    for path in (REPO / "runtime" / "alerting").rglob("*.py"):
        if re.search(r"\b(Counter|Gauge|Histogram)\(\s*\"alerting_", path.read_text()):
            relative = path.relative_to(REPO / "runtime").with_suffix("")
            defining.add(".".join(relative.parts))
    assert defining - set(METRIC_MODULES) == set()


def test_scrape_config_is_valid_and_covers_the_roster(peer_binaries: None) -> None:
    done = promtool("check", "config", str(SCRAPE))
    assert done.returncode == 0, done.stdout + done.stderr
    config = yaml.safe_load(SCRAPE.read_text())
    assert config["rule_files"] == ["alerts.yml"]
    jobs = {
        job["job_name"]: [t for c in job["static_configs"] for t in c["targets"]]
        for job in config["scrape_configs"]
    }
    assert jobs == {f"alerting-{s.name}": [f"127.0.0.1:{s.port}"] for s in roster.SERVICES}


def test_the_missing_target_rule_names_every_scrape_job() -> None:
    """AlertingServiceMissing has one absent() per job: a service added to the roster
    (and the scrape configuration) must be added there too, or its vanishing is silent."""
    (rule,) = [r for r in alert_rules() if r["alert"] == "AlertingServiceMissing"]
    named = re.findall(r'absent\(up\{job="([^"]+)"\}\)', rule["expr"])
    assert sorted(named) == sorted(f"alerting-{s.name}" for s in roster.SERVICES)
    assert len(named) == len(set(named))


def test_broken_scrape_config_is_rejected(peer_binaries: None, copies: Path) -> None:
    path = copies / "prometheus.yml"
    break_copy(path, "scrape_interval: 15s", "scrape_interval: often")
    done = promtool("check", "config", str(path))
    assert done.returncode != 0
    assert "often" in done.stdout + done.stderr
