"""docker-compose.yml cannot run here (no Docker engine), so its structure is checked.

Every app container runs an `alerting` command that exists, every depends_on target is
a service with a condition it can meet, every long-running container has a health
check, and no two containers claim the same host port.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from alerting import config, roster
from alerting.cli import COMMANDS
from alerting.roster import NAMES as SERVICE_NAMES

REPO = Path(__file__).resolve().parents[2]
INFRA = {
    "kafka": "apache/kafka:",
    "postgres": "postgres:15",
    "redis": "redis:7",
    "mailpit": "axllent/mailpit:",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "docker-compose.yml").read_text()))


def _app_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose["services"].items() if s.get("image") == "alerting:local"}


def _dockerfile_entrypoint() -> str:
    lines = (REPO / "Dockerfile").read_text().splitlines()
    (entry,) = [line for line in lines if line.startswith("ENTRYPOINT")]
    return entry


def test_infrastructure_images(compose: dict[str, Any]) -> None:
    for name, prefix in INFRA.items():
        assert compose["services"][name]["image"].startswith(prefix)
    kafka_env = compose["services"]["kafka"]["environment"]
    assert kafka_env["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    assert not any("zookeeper" in n for n in compose["services"])


def test_every_app_container_runs_an_existing_alerting_command(compose: dict[str, Any]) -> None:
    assert _dockerfile_entrypoint() == 'ENTRYPOINT ["alerting"]'
    known = set(SERVICE_NAMES) | {c.name for c in COMMANDS}
    apps = _app_services(compose)
    for name, service in apps.items():
        assert "entrypoint" not in service, name  # the image's `alerting` entry point
        command = service["command"]
        assert isinstance(command, list) and command[0] in known, (name, command)
    # Every platform service is there, each exactly once; plus the two setup jobs.
    commands = [s["command"][0] for s in apps.values()]
    assert sorted(commands) == sorted([*SERVICE_NAMES, "migrate", "topics"])


def test_every_dependency_exists_with_a_meetable_condition(compose: dict[str, Any]) -> None:
    services = compose["services"]
    jobs = {n for n, s in services.items() if s.get("restart") == "no"}
    for name, service in services.items():
        for target, spec in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            condition = spec["condition"]
            if target in jobs:
                assert condition == "service_completed_successfully", (name, target)
            else:
                assert condition == "service_healthy", (name, target)
                assert "test" in services[target]["healthcheck"], target
    for name in SERVICE_NAMES:
        needs = set(services[name]["depends_on"])
        assert {"kafka", "postgres", "redis", "migrate", "topics"} <= needs, name


def test_long_running_containers_have_health_checks(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        check = service.get("healthcheck", {})
        if service.get("restart") == "no":
            continue
        assert check.get("test"), name
        if name in SERVICE_NAMES:
            assert check["test"][-1] == name


def test_host_ports_do_not_collide(compose: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    for name, service in compose["services"].items():
        for mapping in service.get("ports", []):
            host = str(mapping).rsplit(":", 1)[0]
            assert host not in seen, f"{name} and {seen.get(host)} both publish {host}"
            seen[host] = name
    # The APIs are where the docs say they are.
    assert seen["8081"] == "rule-service" and seen["8082"] == "ingest" and seen["8025"] == "mailpit"


def test_the_port_checker_can_fail(compose: dict[str, Any]) -> None:
    broken = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    broken["services"]["metrics"]["ports"] = ["8081:8083"]
    with pytest.raises(AssertionError, match="both publish 8081"):
        test_host_ports_do_not_collide(broken)


def test_metrics_scrapes_every_service_at_its_compose_name(compose: dict[str, Any]) -> None:
    raw = compose["services"]["metrics"]["environment"]["ALERTING_METRICS_TARGETS"]
    targets = config.load({"ALERTING_METRICS_TARGETS": raw}).metrics_targets
    ports = config.load({}).ports
    apps = _app_services(compose)
    assert set(targets) == {s.name for s in roster.SCRAPED}
    for name, url in targets.items():
        assert url == f"http://{name}:{ports[name]}" and apps[name]["command"] == [name]


def test_compose_runs_each_roster_service_at_its_port(compose: dict[str, Any]) -> None:
    """A roster entry without its container (or with another port) fails here."""
    apps = _app_services(compose)
    long_running = {n for n, s in apps.items() if s.get("restart") != "no"}
    assert long_running == set(roster.NAMES)
    for service in roster.SERVICES:
        container = apps[service.name]
        assert container["command"] == [service.name]
        assert container["ports"] == [f"{service.port}:{service.port}"], service.name


def test_every_producing_service_produces_idempotently(compose: dict[str, Any]) -> None:
    """apache/kafka accepts idempotence; the runtime default (off) is for Tansu only."""
    services = compose["services"]
    for service in roster.PRODUCERS:
        env = services[service.name]["environment"]
        assert env.get("ALERTING_KAFKA_IDEMPOTENCE") == "true", service.name


def _compose_default(value: str) -> str:
    """``${NAME:-default}`` as compose resolves it with NAME unset; other text as is."""
    if value.startswith("${") and ":-" in value:
        return value[value.index(":-") + 2 : -1]
    return value


def test_the_services_that_store_secrets_start_with_the_compose_defaults(
    compose: dict[str, Any],
) -> None:
    """rule-service and the sender refuse to start without a keyring: compose gives them
    one (a local default) that the settings accept."""
    for name in ("rule-service", "sender"):
        env = {
            k: _compose_default(str(v)) for k, v in compose["services"][name]["environment"].items()
        }
        settings = config.load(env)
        assert settings.require_secret_keys(), name
        assert settings.require_admin_token(), name
