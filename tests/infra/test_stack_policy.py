"""The prod stack, built from Pulumi.prod.yaml under Pulumi mocks, obeys the platform's rules.

Every rule is checked twice: on the real stack (no violations) and on a copy broken in
exactly the way the rule forbids (the violation is reported). A checker that cannot
fail would otherwise pass forever.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from alerting import roster
from alerting.roster import NAMES as SERVICE_NAMES
from stack import settings
from stack.config import RULE_UPDATER_MAX_INSTANCES, ConfigError, parse
from stack.program import EXPORTS
from stack.settings import SECRET_NAMES
from tests.infra import policy
from tests.infra.harness import SECRETS, Recorded, build_stack, prod_config, run_entry_point
from tests.infra.recording_mocks import RecordingMocks

# What the issue requires the stack to export, whatever else it adds.
REQUIRED_EXPORTS = (
    "apiUrl",
    "ingestUrl",
    "clusterName",
    "serviceNames",
    "ecrRepositoryUrl",
    "databaseEndpoint",
    "redisEndpoint",
    "kafkaBootstrap",
    "migrationTaskDefinitionArn",
)


class Built:
    def __init__(self, overrides: dict[str, Any] | None = None) -> None:
        self.mocks = RecordingMocks()
        self.exports = build_stack(self.mocks, prod_config(overrides))
        self.resources = self.mocks.resources

    def named(self, name: str, typ: str) -> Recorded:
        (found,) = [r for r in self.resources if r.name == name and r.typ == typ]
        return found

    def broken(
        self, name: str, typ: str, change: Callable[[dict[str, Any]], None]
    ) -> list[Recorded]:
        """A deep copy of the resources with one resource's inputs changed."""
        resources = copy.deepcopy(self.resources)
        (target,) = [r for r in resources if r.name == name and r.typ == typ]
        change(target.inputs)
        return resources

    def plus(self, extra: Recorded) -> list[Recorded]:
        return [*copy.deepcopy(self.resources), extra]


@pytest.fixture(scope="module")
def prod() -> Built:
    return Built()


def _ingress(
    group: str, port: int, *, cidr: str | None = None, source: str | None = None
) -> Recorded:
    inputs = {"securityGroupId": group, "ipProtocol": "tcp", "fromPort": port, "toPort": port}
    inputs |= {"cidrIpv4": cidr} if cidr else {"referencedSecurityGroupId": source}
    return Recorded(policy.INGRESS, f"bad-{port}", "bad-id", inputs, inputs)


def _services_sg(prod: Built) -> str:
    return str(prod.exports["servicesSecurityGroupId"])


def _gateway_sgs(prod: Built) -> set[str]:
    return {prod.named("alerting-api-link", policy.SG).id}


def test_the_entry_point_declares_the_same_stack(prod: Built) -> None:
    """`stack/__main__.py`, run as Pulumi runs it, builds what the tests inspect."""
    mocks = RecordingMocks()
    run_entry_point(mocks, prod_config())
    assert sorted((r.typ, r.name) for r in mocks.resources) == sorted(
        (r.typ, r.name) for r in prod.resources
    )


# --- exports ------------------------------------------------------------------------


def test_every_export_exists(prod: Built) -> None:
    assert set(REQUIRED_EXPORTS) <= set(EXPORTS)
    assert policy.check_exports(prod.exports, EXPORTS) == []
    assert set(prod.exports["serviceNames"]) == set(SERVICE_NAMES)
    assert prod.exports["ingestUrl"].startswith("https://")


def test_export_check_reports_a_missing_export(prod: Built) -> None:
    exports = {k: v for k, v in prod.exports.items() if k != "kafkaBootstrap"}
    assert policy.check_exports(exports, EXPORTS) == ["export kafkaBootstrap missing or empty"]


# --- network exposure -----------------------------------------------------------------


def test_data_store_ports_admit_only_the_services_group(prod: Built) -> None:
    assert policy.check_data_store_ports(prod.resources, _services_sg(prod)) == []
    # The rules that do exist really are the ones from the services' group.
    sources = {
        r.inputs["referencedSecurityGroupId"]
        for r in policy.of_type(prod.resources, policy.INGRESS)
        if r.inputs["fromPort"] in policy.DATA_PORTS
    }
    assert sources == {_services_sg(prod)}


def test_data_store_check_reports_other_sources(prod: Built) -> None:
    db_sg = prod.named("alerting-db-sg", policy.SG).id
    hosts_sg = prod.named("alerting-hosts", policy.SG).id
    by_cidr = policy.check_data_store_ports(
        prod.plus(_ingress(db_sg, 5432, cidr="10.0.0.0/16")), _services_sg(prod)
    )
    by_group = policy.check_data_store_ports(
        prod.plus(_ingress(db_sg, 6379, source=hosts_sg)), _services_sg(prod)
    )
    assert by_cidr == ["bad-5432: Postgres port 5432 open to 10.0.0.0/16"]
    assert by_group == [f"bad-6379: Redis port 6379 open to {hosts_sg}"]


def test_nothing_but_the_gateway_faces_the_internet(prod: Built) -> None:
    assert policy.check_public_exposure(prod.resources, _gateway_sgs(prod)) == []
    # The analysis is not vacuous: the stack has public subnets, just nothing in them.
    assert len(policy.public_subnets(prod.resources)) == 2


def test_exposure_check_reports_open_ingress_public_placement_and_public_ips(prod: Built) -> None:
    gateway = _gateway_sgs(prod)
    opened = prod.plus(_ingress(_services_sg(prod), 8081, cidr="0.0.0.0/0"))
    assert policy.check_public_exposure(opened, gateway) == ["bad-8081: open to 0.0.0.0/0"]

    public_subnet = sorted(policy.public_subnets(prod.resources))[0]

    def into_public(inputs: dict[str, Any]) -> None:
        inputs["networkConfiguration"]["subnets"] = [public_subnet]
        inputs["networkConfiguration"]["assignPublicIp"] = True

    moved = policy.check_public_exposure(
        prod.broken("svc-ingest", policy.ECS_SERVICE, into_public), gateway
    )
    assert moved == [
        f"svc-ingest: placed in public subnet {public_subnet}",
        "svc-ingest: tasks get public IPs",
    ]
    public_db = prod.broken("alerting-db", policy.RDS, lambda i: i.update(publiclyAccessible=True))
    assert policy.check_public_exposure(public_db, gateway) == [
        "alerting-db: RDS instance is publicly accessible"
    ]


# --- data stores ----------------------------------------------------------------------


def test_rds_and_elasticache_are_private_and_encrypted(prod: Built) -> None:
    assert policy.check_data_stores(prod.resources) == []
    db = prod.named("alerting-db", policy.RDS).inputs
    assert db["engine"] == "postgres" and db["engineVersion"].startswith("15")
    assert prod.named("alerting-redis", policy.REDIS).inputs["engineVersion"].startswith("7")


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        ("alerting-db", {"storageEncrypted": False}, "alerting-db: RDS storage not encrypted"),
        ("alerting-db", {"publiclyAccessible": True}, "alerting-db: RDS publicly accessible"),
        (
            "alerting-db",
            {"backupRetentionPeriod": 0},
            "alerting-db: RDS automated backups disabled",
        ),
        (
            "alerting-db",
            {"manageMasterUserPassword": False, "password": "hunter2hunter2"},
            "alerting-db: RDS master password not managed in Secrets Manager",
        ),
        (
            "alerting-redis",
            {"transitEncryptionEnabled": False},
            "alerting-redis: Redis without TLS in transit",
        ),
        (
            "alerting-redis",
            {"atRestEncryptionEnabled": False},
            "alerting-redis: Redis not encrypted at rest",
        ),
        ("alerting-redis", {"authToken": None}, "alerting-redis: Redis without an auth token"),
    ],
)
def test_data_store_check_reports_each_weakness(
    prod: Built, name: str, change: dict[str, Any], expected: str
) -> None:
    typ = policy.RDS if name == "alerting-db" else policy.REDIS
    assert policy.check_data_stores(prod.broken(name, typ, lambda i: i.update(change))) == [
        expected
    ]


# --- task definitions -------------------------------------------------------------------


def _check_taskdefs(prod: Built, resources: list[Recorded]) -> list[str]:
    return policy.check_task_definitions(
        resources, prod.exports["imageRef"], SECRET_NAMES, SECRETS.values()
    )


def test_task_definitions_use_one_image_logs_health_checks_and_secret_refs(prod: Built) -> None:
    assert _check_taskdefs(prod, prod.resources) == []
    taskdefs = policy.of_type(prod.resources, policy.TASKDEF)
    commands = {}
    for td in taskdefs:
        for c in policy.containers(td):
            commands[c["name"]] = c.get("entryPoint", []) + c.get("command", [])
            if c["name"] in SERVICE_NAMES:
                injected = {s["name"] for s in c["secrets"]}
                assert {"ALERTING_POSTGRES_PASSWORD", "ALERTING_REDIS_PASSWORD"} <= injected
    for name in SERVICE_NAMES:
        assert commands[name] == ["alerting", name]
    assert commands["migrate"] == ["sh", "-c", "alerting migrate && alerting topics"]
    assert commands["secrets"] == ["alerting", "secrets", "rotate"]
    assert len(taskdefs) == len(SERVICE_NAMES) + 3  # + kafka broker + migration + secrets jobs


def test_every_service_rolls_back_a_failed_deployment(prod: Built) -> None:
    services = policy.of_type(prod.resources, policy.ECS_SERVICE)
    assert len(services) == len(SERVICE_NAMES) + 1  # + the Kafka broker
    for svc in services:
        assert svc.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    kafka = next(s for s in services if s.name == "alerting-kafka")
    # One log directory: the old broker must stop before the new one starts.
    assert kafka.inputs["deploymentMaximumPercent"] == 100
    assert kafka.inputs["deploymentMinimumHealthyPercent"] == 0


def _edit_container(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def edit(inputs: dict[str, Any]) -> None:
        defs = json.loads(inputs["containerDefinitions"])
        change(defs[0])
        inputs["containerDefinitions"] = json.dumps(defs)

    return edit


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda c: c["environment"].append({"name": "ALERTING_ADMIN_TOKEN", "value": "x" * 20}),
            ["alerting-prod-sender/sender: secret ALERTING_ADMIN_TOKEN in plain environment"],
        ),
        (
            lambda c: c["environment"].append(
                {"name": "ALERTING_EXTRA", "value": SECRETS["alerting:adminToken"]}
            ),
            ["alerting-prod-sender: a secret value appears in the task definition"],
        ),
        (
            lambda c: c.update(image="python:3.11-slim"),
            ["alerting-prod-sender/sender: runs python:3.11-slim, not the platform image"],
        ),
        (lambda c: c.pop("healthCheck"), ["alerting-prod-sender/sender: no health check"]),
        (
            lambda c: c.pop("logConfiguration"),
            ["alerting-prod-sender/sender: no CloudWatch log group"],
        ),
        (
            lambda c: c["secrets"].append(
                {"name": "ALERTING_SMTP_PASSWORD", "valueFrom": "hunter2"}
            ),
            ["alerting-prod-sender/sender: secret ALERTING_SMTP_PASSWORD not from Secrets Manager"],
        ),
    ],
)
def test_task_definition_check_reports_each_violation(
    prod: Built, change: Callable[[dict[str, Any]], None], expected: list[str]
) -> None:
    assert (
        _check_taskdefs(prod, prod.broken("svc-sender", policy.TASKDEF, _edit_container(change)))
        == expected
    )


def test_a_secret_in_plain_environment_is_refused_at_declaration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Beyond the check: AppService itself refuses to declare such a task definition."""
    real = settings.service_environment

    def leaky(service: str, common: Any, dns_namespace: str = "") -> dict[str, Any]:
        leaked = real(service, common, dns_namespace)
        return {**leaked, "ALERTING_ADMIN_TOKEN": "plain-text-token-123"}

    monkeypatch.setattr(settings, "service_environment", leaky)
    with pytest.raises(ValueError, match="secrets must not be plain environment"):
        Built()


# --- scaling --------------------------------------------------------------------------


def _expected_bounds(overrides: dict[str, Any] | None = None) -> dict[str, policy.Bounds]:
    services = prod_config(overrides)["alerting:services"]
    return {n: policy.Bounds(s["desired"], s["min"], s["max"]) for n, s in services.items()}


def test_scaling_bounds_and_counts_match_the_config(prod: Built) -> None:
    assert policy.check_scaling(prod.resources, _expected_bounds()) == []


def test_scaling_check_reports_drift_from_the_config(prod: Built) -> None:
    wider = prod.broken(
        "svc-evaluator-scaling", policy.SCALING_TARGET, lambda i: i.update(maxCapacity=9)
    )
    assert policy.check_scaling(wider, _expected_bounds()) == [
        "evaluator: scaling bounds (1, 9) != (1, 3)"
    ]
    more = prod.broken("svc-aggregator", policy.ECS_SERVICE, lambda i: i.update(desiredCount=2))
    assert policy.check_scaling(more, _expected_bounds()) == ["aggregator: desired 2 != 1"]


def test_rule_updater_runs_a_single_fixed_task(prod: Built) -> None:
    assert RULE_UPDATER_MAX_INSTANCES == 1
    assert policy.check_rule_updater(prod.resources, RULE_UPDATER_MAX_INSTANCES) == []


def test_rule_updater_check_reports_scaling(prod: Built) -> None:
    scaled = prod.broken(
        "svc-rule-updater-scaling", policy.SCALING_TARGET, lambda i: i.update(maxCapacity=3)
    )
    assert policy.check_rule_updater(scaled, RULE_UPDATER_MAX_INSTANCES) == [
        "rule-updater: desired=1 min=1 max=3; must be a fixed count <= 1"
    ]


def test_config_refuses_to_scale_the_rule_updater() -> None:
    raw = {k.split(":", 1)[1]: v for k, v in prod_config().items() if k.startswith("alerting:")}
    raw["services"]["rule-updater"] = {"cpu": 128, "memory": 256, "desired": 1, "min": 1, "max": 3}
    with pytest.raises(ConfigError, match="rule-updater must run exactly 1 task"):
        parse(raw, "us-east-1")


def test_config_refuses_more_consumers_than_partitions() -> None:
    raw = {k.split(":", 1)[1]: v for k, v in prod_config().items() if k.startswith("alerting:")}
    raw["services"]["evaluator"]["max"] = 12
    with pytest.raises(ConfigError, match=r"exceeds kafka\.partitions=6"):
        parse(raw, "us-east-1")


@pytest.mark.parametrize("starttls", [None, "false", "no"])
@pytest.mark.parametrize("username_key", ["username", "Username"])
def test_config_refuses_smtp_credentials_without_starttls(
    starttls: str | None, username_key: str
) -> None:
    raw = {k.split(":", 1)[1]: v for k, v in prod_config().items() if k.startswith("alerting:")}
    raw["smtp"] = {**raw["smtp"], username_key: "AKIAEXAMPLE"}
    if starttls is None:
        raw["smtp"].pop("starttls")
    else:
        raw["smtp"]["starttls"] = starttls
    with pytest.raises(ConfigError, match="the SMTP password would cross the network in clear"):
        parse(raw, "us-east-1")
    raw["smtp"]["starttls"] = "true"
    assert parse(raw, "us-east-1").smtp[username_key] == "AKIAEXAMPLE"


# --- variants ---------------------------------------------------------------------------


def test_msk_mode_keeps_every_rule() -> None:
    msk = Built({"alerting:kafka": {"mode": "msk", "partitions": 6}})
    assert msk.exports["kafkaBootstrap"].endswith(":9094")
    assert not policy.of_type(msk.resources, "aws:efs/fileSystem:FileSystem")
    assert policy.check_data_store_ports(msk.resources, _services_sg(msk)) == []
    assert policy.check_public_exposure(msk.resources, _gateway_sgs(msk)) == []
    assert _check_taskdefs(msk, msk.resources) == []
    env = {
        e["name"]: e["value"]
        for e in policy.containers(msk.named("svc-evaluator", policy.TASKDEF))[0]["environment"]
    }
    assert env["ALERTING_KAFKA_SECURITY_PROTOCOL"] == "SSL"


def test_metrics_scrapes_the_http_apis_by_their_cloud_map_names(prod: Built) -> None:
    env = {
        e["name"]: e["value"]
        for e in policy.containers(prod.named("svc-metrics", policy.TASKDEF))[0]["environment"]
    }
    assert env["ALERTING_METRICS_TARGETS"] == (
        "rule-service=http://rule-service.alerting.internal:8081,"
        "ingest=http://ingest.alerting.internal:8082"
    )


ROUTE = "aws:apigatewayv2/route:Route"
DISCOVERY = "aws:servicediscovery/service:Service"


def test_the_stack_declares_each_roster_service_as_the_roster_says(prod: Built) -> None:
    """One roster entry is all a new service needs to be deployed: its task, port,
    Cloud Map name (HTTP APIs only) and gateway routes all follow the roster."""
    assert list(prod.exports["serviceNames"]) == list(roster.NAMES)
    for service in roster.SERVICES:
        (container,) = policy.containers(prod.named(f"svc-{service.name}", policy.TASKDEF))
        assert container["portMappings"][0]["containerPort"] == service.port, service.name
        env = {e["name"]: e["value"] for e in container["environment"]}
        assert env[service.port_setting] == str(service.port), service.name
    discoverable = {r.inputs["name"] for r in policy.of_type(prod.resources, DISCOVERY)}
    assert discoverable & set(roster.NAMES) == {s.name for s in roster.HTTP_APIS}
    integrations = {
        f"integrations/{r.id}": r.name.removeprefix("alerting-api-")
        for r in prod.resources
        if r.typ == "aws:apigatewayv2/integration:Integration"
    }
    routed = {
        r.inputs["routeKey"]: integrations[r.inputs["target"]]
        for r in policy.of_type(prod.resources, ROUTE)
    }
    assert routed == {key: s.name for s in roster.HTTP_APIS for key in s.routes}


@pytest.mark.parametrize("overrides", [None, {"alerting:kafka": {"mode": "msk", "partitions": 6}}])
def test_producing_services_produce_idempotently(overrides: dict[str, Any] | None) -> None:
    """Self-hosted Apache Kafka and MSK both accept idempotence (Tansu, the tests' broker,
    does not, hence the runtime's default of off)."""
    built = Built(overrides)
    for service in roster.SERVICES:
        (container,) = policy.containers(built.named(f"svc-{service.name}", policy.TASKDEF))
        env = {e["name"]: e["value"] for e in container["environment"]}
        wanted = "true" if service in roster.PRODUCERS else None
        assert env.get("ALERTING_KAFKA_IDEMPOTENCE") == wanted, service.name


def test_http_apis_trust_the_gateways_forwarded_address_and_request_id(prod: Built) -> None:
    """Behind API Gateway a task's peer is the VPC link, so failed authentications are
    counted per the address the gateway appended to X-Forwarded-For (one hop); the
    workers serve no API and are left at the default. The gateway also hands each
    request its id, which the audit log records."""
    for service in roster.SERVICES:
        (container,) = policy.containers(prod.named(f"svc-{service.name}", policy.TASKDEF))
        env = {e["name"]: e["value"] for e in container["environment"]}
        wanted = "1" if service in roster.HTTP_APIS else None
        assert env.get("ALERTING_TRUSTED_PROXY_HOPS") == wanted, service.name
    integrations = [
        r for r in prod.resources if r.typ == "aws:apigatewayv2/integration:Integration"
    ]
    assert integrations
    for integration in integrations:
        assert integration.inputs["requestParameters"] == {
            "overwrite:header.X-Request-Id": "$context.requestId"
        }


def test_config_accepts_scalars_stored_as_text() -> None:
    raw = {k.split(":", 1)[1]: v for k, v in prod_config().items() if k.startswith("alerting:")}
    raw["image"] = {"build": "false", "tag": "abc123"}
    raw["natGateway"] = "true"
    raw["kafka"]["partitions"] = "6"
    cfg = parse(raw, "us-east-1")
    assert (cfg.image_build, cfg.nat_gateway, cfg.kafka_partitions) == (False, True, 6)


def test_no_task_may_call_private_addresses(prod: Built) -> None:
    """A receiver's answer is readable by its tenant (the attempt log's excerpt,
    docs/security.md): with private addresses allowed, an endpoint pointed at an
    internal service would read it back. Production refuses them in every task."""
    for service in roster.SERVICES:
        (container,) = policy.containers(prod.named(f"svc-{service.name}", policy.TASKDEF))
        env = {e["name"]: e["value"] for e in container["environment"]}
        assert env["ALERTING_ALLOW_PRIVATE_URLS"] == "false", service.name
