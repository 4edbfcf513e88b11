"""The `ALERTING_*` settings each task receives, derived from the runtime's own table.

Variable names, defaults and which ones are secrets all come from
`alerting.config.SETTINGS`, and each service's port and role from `alerting.roster`,
so the stack cannot drift from what the services read.
Plain values go to `environment`; secrets only ever as ECS `secrets` references.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from alerting import roster
from alerting.config import SETTINGS, expand
from components.gateway import PROXY_HOPS
from components.secrets import KEYRING

SECRET_NAMES: frozenset[str] = frozenset(s.env for s in SETTINGS if s.secret)
_DEFAULTS = {s.env: s.default for s in SETTINGS}

# Services answering HTTP API calls (through the gateway); the rest only serve health.
HTTP_APIS = tuple(s.name for s in roster.HTTP_APIS)

# The keyring sealing stored endpoint secrets goes only to the services whose code reads
# it, as the roster lists (rule-service seals, the sender opens); their tasks run with
# the one execution role allowed to fetch it (components.secrets.AppSecrets).
HOLDS_KEYRING: frozenset[str] = frozenset(
    s.name for s in roster.SERVICES if KEYRING in expand(s.settings)
)


def port_variable(service: str) -> str:
    return roster.named(service).port_setting


def port(service: str) -> int:
    """The service's port: the runtime's default for its ALERTING_<SERVICE>_PORT."""
    return roster.named(service).port


def common_environment(
    *,
    kafka_bootstrap: pulumi.Input[str],
    kafka_security_protocol: str,
    kafka_partitions: int,
    kafka_replication_factor: int,
    postgres_dsn: pulumi.Input[str],
    redis_url: pulumi.Input[str],
    smtp: Mapping[str, str],
    log_level: str,
) -> dict[str, pulumi.Input[str]]:
    """Settings shared by every task, including the migration job."""
    env: dict[str, pulumi.Input[str]] = {
        "ALERTING_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "ALERTING_KAFKA_SECURITY_PROTOCOL": kafka_security_protocol,
        "ALERTING_KAFKA_PARTITIONS": str(kafka_partitions),
        "ALERTING_KAFKA_REPLICATION_FACTOR": str(kafka_replication_factor),
        "ALERTING_POSTGRES_DSN": postgres_dsn,
        "ALERTING_REDIS_URL": redis_url,
        "ALERTING_ALLOW_PRIVATE_URLS": "false",
        "ALERTING_LOG_LEVEL": log_level,
        "ALERTING_LOG_FORMAT": "json",
        "ALERTING_HTTP_HOST": "0.0.0.0",  # noqa: S104 - inside the task's own ENI
    }
    for key, value in smtp.items():
        name = f"ALERTING_SMTP_{key.upper()}"
        if name not in _DEFAULTS or name in SECRET_NAMES:
            raise ValueError(f"alerting:smtp.{key} is not a plain SMTP setting")
        env[name] = value
    return env


def service_environment(
    service: str, common: Mapping[str, pulumi.Input[str]], dns_namespace: str = ""
) -> dict[str, pulumi.Input[str]]:
    env = dict(common)
    env[port_variable(service)] = str(port(service))
    if roster.named(service) in roster.PRODUCERS:
        # Both brokers the stack runs (self-hosted Apache Kafka, MSK) accept idempotent
        # producing, so a producer retry cannot write a duplicate. Off only for Tansu.
        env["ALERTING_KAFKA_IDEMPOTENCE"] = "true"
    if service in HTTP_APIS:
        # Callers reach the APIs through the gateway: their address is its X-Forwarded-For
        # entry, and failed authentications are throttled per that address.
        env["ALERTING_TRUSTED_PROXY_HOPS"] = str(PROXY_HOPS)
    if service == "metrics" and dns_namespace:
        # Only the HTTP APIs have Cloud Map names; per-task scraping of the workers is
        # the monitoring system's job (every task serves /metrics on its health port).
        env["ALERTING_METRICS_TARGETS"] = ",".join(
            f"{s.name}=http://{s.name}.{dns_namespace}:{s.port}"
            for s in roster.SCRAPED
            if s.role == "http-api"
        )
    return env


def service_secrets(
    service: str, available: Mapping[str, pulumi.Input[str]]
) -> dict[str, pulumi.Input[str]]:
    """Least privilege: only the HTTP APIs get the admin token, only the sender SMTP's,
    only the services that seal or open endpoint secrets the keyring."""
    wanted = {"ALERTING_POSTGRES_PASSWORD", "ALERTING_REDIS_PASSWORD"}
    if service in HTTP_APIS:
        wanted.add("ALERTING_ADMIN_TOKEN")
    if service == "sender":
        wanted.add("ALERTING_SMTP_PASSWORD")
    if service in HOLDS_KEYRING:
        wanted.add(KEYRING)
    return {k: v for k, v in available.items() if k in wanted}


def migration_secrets(available: Mapping[str, pulumi.Input[str]]) -> dict[str, pulumi.Input[str]]:
    return {k: v for k, v in available.items() if k == "ALERTING_POSTGRES_PASSWORD"}


def secrets_task_secrets(
    available: Mapping[str, pulumi.Input[str]],
) -> dict[str, pulumi.Input[str]]:
    """`alerting secrets rotate` reads Postgres and opens and seals with the keyring."""
    return {k: v for k, v in available.items() if k in {"ALERTING_POSTGRES_PASSWORD", KEYRING}}
