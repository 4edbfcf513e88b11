"""The service roster drives the settings: ports, scrape targets, consumed topics, --help."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from alerting import config, roster


def test_each_service_has_its_port_setting_with_the_roster_default() -> None:
    by_env = {s.env: s for s in config.SETTINGS}
    for service in roster.SERVICES:
        setting = by_env[service.port_setting]
        assert setting.default == str(service.port)
        assert setting.help == service.port_help
    ports = [s.port for s in roster.SERVICES]
    assert len(set(ports)) == len(ports), "two services share a default port"


def test_settings_ports_hold_every_service_and_honour_overrides() -> None:
    assert config.load({}).ports == {s.name: s.port for s in roster.SERVICES}
    moved = config.load({roster.EVALUATOR.port_setting: "19102"})
    assert moved.port("evaluator") == 19102


def test_metrics_scrapes_every_other_service_at_its_port_by_default() -> None:
    targets = config.load({}).metrics_targets
    assert targets == {s.name: f"http://127.0.0.1:{s.port}" for s in roster.SCRAPED}
    assert roster.METRICS.name not in targets
    assert set(targets) | {roster.METRICS.name} == set(roster.NAMES)


def test_each_consumer_names_a_topic_the_settings_hold() -> None:
    topics = config.load({}).topics
    fields = {f.name for f in dataclasses.fields(topics)}
    assert {s.consumes for s in roster.CONSUMERS} <= fields
    assert topics.consumed_by(roster.AGGREGATOR) == "alerts.matched"
    assert topics.consumed_by(roster.RULE_UPDATER) == "rule.changed"
    with pytest.raises(ValueError, match="ingest consumes no topic"):
        topics.consumed_by(roster.INGEST)


def test_every_setting_a_service_reads_exists() -> None:
    for service in roster.SERVICES:
        read = config.expand(service.settings)
        assert service.port_setting in read and "ALERTING_LOG_LEVEL" in read, service.name
        if service.consumes:
            assert "ALERTING_CONSUMER_GROUP" in read, service.name


def test_expand_takes_prefixes_in_table_order_and_refuses_unknown_names() -> None:
    assert config.expand(("ALERTING_LOG_*", "ALERTING_LOG_LEVEL")) == (
        "ALERTING_LOG_LEVEL",
        "ALERTING_LOG_FORMAT",
    )
    with pytest.raises(KeyError, match="ALERTING_NOPE names no setting"):
        config.expand(("ALERTING_NOPE",))
    with pytest.raises(KeyError, match="ALERTING_NOPE_\\* names no setting"):
        config.expand(("ALERTING_NOPE_*",))


def test_only_http_apis_have_gateway_routes_and_one_takes_the_rest() -> None:
    for service in roster.SERVICES:
        assert bool(service.routes) == (service.role == "http-api"), service.name
    keys = [k for s in roster.SERVICES for k in s.routes]
    assert len(keys) == len(set(keys))
    assert keys.count("$default") == 1


def test_an_unknown_service_is_refused_by_name() -> None:
    with pytest.raises(KeyError, match="'pager' is not in the service roster"):
        roster.named("pager")


def test_the_roster_and_settings_import_no_service_code() -> None:
    """config.py, the CLI's --help, the health probe and the Pulumi program import these."""
    probe = (
        "import sys, alerting.config, alerting.roster;"
        "print(sorted(m for m in sys.modules if m.startswith('alerting')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    # secret_keys: the keyring's format, stdlib only, shared with the Pulumi stack config.
    expected = ["alerting", "alerting.config", "alerting.roster", "alerting.secret_keys"]
    assert done.stdout.strip() == str(expected)
