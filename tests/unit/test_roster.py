"""The service roster drives the settings: ports, scrape targets, consumed topics, --help."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import subprocess
import sys
from pathlib import Path

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
    # secret_keys: the keyring's format, stdlib only, shared with the Pulumi stack config;
    # settings_table: the list of settings, which config parses; console.origins: how the
    # console's cross-origin settings parse (stdlib only, its package has no code).
    expected = [
        "alerting",
        "alerting.config",
        "alerting.console",
        "alerting.console.origins",
        "alerting.roster",
        "alerting.secret_keys",
        "alerting.settings_table",
    ]
    assert done.stdout.strip() == str(expected)


def _settings_groups() -> dict[str, set[str]]:
    """Each ``Settings`` field and the ALERTING_* variables ``config.load`` builds it
    from (directly, or through a local it assigned first), read from load's source."""
    body = ast.parse(inspect.getsource(config.load)).body[0]
    assert isinstance(body, ast.FunctionDef)

    def names_in(node: ast.AST) -> set[str]:
        return {
            n.value
            for n in ast.walk(node)
            if isinstance(n, ast.Constant)
            and isinstance(n.value, str)
            and n.value.startswith("ALERTING_")
        }

    assigned: dict[str, set[str]] = {}
    for node in ast.walk(body):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, set()).update(names_in(node.value))
    (built,) = [
        n
        for n in ast.walk(body)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "Settings"
    ]
    groups: dict[str, set[str]] = {}
    for keyword in built.keywords:
        assert keyword.arg is not None
        found = names_in(keyword.value)
        for name in ast.walk(keyword.value):
            if isinstance(name, ast.Name):
                found |= assigned.get(name.id, set())
        groups[keyword.arg] = found
    return groups


@pytest.mark.parametrize("service", roster.SERVICES, ids=roster.NAMES)
def test_the_roster_lists_every_settings_group_the_service_code_reads(
    service: roster.Service,
) -> None:
    """What ``--help`` shows comes from the roster: a group of settings the service's
    code reads (``settings.auth_throttle``, ``settings.client_purge_batch``, ...) must
    have at least one of its variables listed there (a group may be read in part, as
    rule-service reads only its own quotas)."""
    package = Path(config.__file__).parent / "services" / service.name.replace("-", "_")
    source = "\n".join(p.read_text() for p in sorted(package.rglob("*.py")))
    read = set(re.findall(r"\bsettings\.(\w+)", source))
    groups = _settings_groups()
    assert {"auth_throttle", "client_purge_batch"} <= set(groups)  # the parse found them
    listed = set(config.expand(service.settings))
    missing = {
        field: sorted(groups[field])
        for field in read & set(groups)
        if groups[field] and not groups[field] & listed
    }
    assert not missing, f"{service.name} reads these but its roster entry lists none: {missing}"
