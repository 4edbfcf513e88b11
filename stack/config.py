"""The stack's configuration: `Pulumi.<stack>.yaml` parsed into typed, validated values.

Everything is checked before a single resource is declared, so a bad value fails
`pulumi preview` with a message naming the key instead of half-creating a stack.
The rules that encode operational safety live here too, e.g. the rule-updater bound.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

import pulumi

from alerting import config as runtime_config
from alerting import roster
from alerting.secret_keys import parse_secret_keys
from components.service import Scaling

# rule-updater is correct with concurrent instances (it compare-and-sets the snapshot
# version), which is what lets a rolling deployment briefly overlap old and new tasks.
# But the snapshot is global and rebuilt wholesale: a second instance adds no
# throughput, only duplicate Postgres reconciles and CAS conflicts. So it runs exactly
# one task (min = desired = max = 1) and never autoscales.
RULE_UPDATER = roster.RULE_UPDATER.name
RULE_UPDATER_MAX_INSTANCES = 1

# Services that consume Kafka in a consumer group: instances beyond the partition
# count would sit idle, so their max may not exceed it.
CONSUMERS = tuple(s.name for s in roster.CONSUMERS)


class ConfigError(ValueError):
    """A stack configuration value is missing or invalid; the message names the key."""


@dataclass(frozen=True)
class ServiceConfig:
    scaling: Scaling
    cpu: int
    memory: int


@dataclass(frozen=True)
class StackConfig:
    region: str
    availability_zones: tuple[str, ...]
    vpc_cidr: str
    nat_gateway: bool
    dns_namespace: str
    instance_type: str
    min_instances: int
    max_instances: int
    db_instance_class: str
    db_allocated_storage_gb: int
    db_max_allocated_storage_gb: int
    db_multi_az: bool
    db_backup_retention_days: int
    db_deletion_protection: bool
    cache_node_type: str
    cache_replicas: int
    kafka_mode: Literal["self-hosted", "msk"]
    kafka_partitions: int
    kafka_retention_hours: int
    kafka_cpu: int
    kafka_memory: int
    image_build: bool
    image_tag: str
    log_retention_days: int
    log_level: str
    smtp: Mapping[str, str]
    services: Mapping[str, ServiceConfig]
    # Subscribed to the alarms' SNS topic (components/alarms.py); None: no subscription.
    alarm_email: str | None = None


def _get(raw: Mapping[str, Any], key: str, kind: type, default: Any = None) -> Any:
    value = raw.get(key, default)
    if value is None:
        raise ConfigError(f"alerting:{key} is required")
    # `pulumi config set --path` may store scalars as text; accept their obvious meaning.
    if kind is bool and isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    if kind is int and isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if kind is int and isinstance(value, bool):
        raise ConfigError(f"alerting:{key} must be an integer")
    if not isinstance(value, kind):
        raise ConfigError(f"alerting:{key} must be a {kind.__name__}, got {value!r}")
    return value


def _service(name: str, raw: Any) -> ServiceConfig:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"alerting:services.{name} must be a mapping")
    key = f"services.{name}"
    values = {k: _get(raw, k, int) for k in ("desired", "min", "max", "cpu", "memory")}
    if not 0 <= values["min"] <= values["desired"] <= values["max"]:
        raise ConfigError(f"alerting:{key} needs 0 <= min <= desired <= max, got {dict(raw)}")
    return ServiceConfig(
        scaling=Scaling(desired=values["desired"], min=values["min"], max=values["max"]),
        cpu=values["cpu"],
        memory=values["memory"],
    )


def parse(raw: Mapping[str, Any], region: str) -> StackConfig:
    """Build a StackConfig from the `alerting:` namespace (keys without the prefix)."""
    cluster = _get(raw, "cluster", dict)
    database = _get(raw, "database", dict)
    cache = _get(raw, "cache", dict, {})
    kafka = _get(raw, "kafka", dict)
    image = _get(raw, "image", dict, {})
    services_raw = _get(raw, "services", dict)

    missing = sorted(set(roster.NAMES) - set(services_raw))
    extra = sorted(set(services_raw) - set(roster.NAMES))
    if missing or extra:
        raise ConfigError(f"alerting:services: missing {missing}, unknown {extra}")
    services = {name: _service(name, services_raw[name]) for name in roster.NAMES}

    updater = services[RULE_UPDATER].scaling
    if updater.max > RULE_UPDATER_MAX_INSTANCES or updater.min != updater.max:
        raise ConfigError(
            f"alerting:services.{RULE_UPDATER} must run exactly {RULE_UPDATER_MAX_INSTANCES} "
            f"task (min = desired = max); got {updater}"
        )
    partitions = _get(kafka, "partitions", int)
    for name in CONSUMERS:
        if services[name].scaling.max > partitions:
            raise ConfigError(
                f"alerting:services.{name}.max={services[name].scaling.max} exceeds "
                f"kafka.partitions={partitions}: the extra consumers would sit idle"
            )
    mode = _get(kafka, "mode", str, "self-hosted")
    if mode not in ("self-hosted", "msk"):
        raise ConfigError("alerting:kafka.mode must be self-hosted or msk")
    zones = tuple(_get(raw, "availabilityZones", list))
    if len(zones) < 2 or any(not z.startswith(region) for z in zones):
        raise ConfigError(f"alerting:availabilityZones needs two or more zones of {region}")
    min_instances = _get(cluster, "minInstances", int)
    max_instances = _get(cluster, "maxInstances", int)
    if not 1 <= min_instances <= max_instances:
        raise ConfigError("alerting:cluster needs 1 <= minInstances <= maxInstances")

    return StackConfig(
        region=region,
        availability_zones=zones,
        vpc_cidr=_get(raw, "vpcCidr", str, "10.0.0.0/16"),
        nat_gateway=_get(raw, "natGateway", bool, True),
        dns_namespace=_get(raw, "dnsNamespace", str, "alerting.internal"),
        instance_type=_get(cluster, "instanceType", str),
        min_instances=min_instances,
        max_instances=max_instances,
        db_instance_class=_get(database, "instanceClass", str),
        db_allocated_storage_gb=_get(database, "allocatedStorageGb", int, 20),
        db_max_allocated_storage_gb=_get(database, "maxAllocatedStorageGb", int, 100),
        db_multi_az=_get(database, "multiAz", bool, False),
        db_backup_retention_days=_get(database, "backupRetentionDays", int, 7),
        db_deletion_protection=_get(database, "deletionProtection", bool, True),
        cache_node_type=_get(cache, "nodeType", str, "cache.t4g.micro"),
        cache_replicas=_get(cache, "replicas", int, 0),
        kafka_mode=cast(Literal["self-hosted", "msk"], mode),
        kafka_partitions=partitions,
        kafka_retention_hours=_get(kafka, "retentionHours", int, 72),
        kafka_cpu=_get(kafka, "cpu", int, 512),
        kafka_memory=_get(kafka, "memory", int, 1024),
        image_build=_get(image, "build", bool, True),
        image_tag=_get(image, "tag", str, pulumi.get_stack()),
        log_retention_days=_get(raw, "logRetentionDays", int, 7),
        log_level=_get(raw, "logLevel", str, "INFO"),
        smtp=_smtp(raw),
        services=services,
        alarm_email=_alarm_email(raw.get("alarmEmail")),
    )


def _smtp(raw: Mapping[str, Any]) -> dict[str, str]:
    """The plain ``ALERTING_SMTP_*`` values, checked by the services' own settings
    loader (a username only with STARTTLS, a port that is a port...): said here, at
    preview, rather than by tasks that never get healthy."""
    smtp = {k: str(v) for k, v in _get(raw, "smtp", dict, {}).items()}
    # Each key becomes ALERTING_SMTP_<KEY> (stack/settings.py); the rest keep defaults.
    try:
        runtime_config.load({f"ALERTING_SMTP_{k.upper()}": v for k, v in smtp.items()})
    except runtime_config.ConfigError as exc:
        raise ConfigError(f"alerting:smtp: {exc}") from None
    return smtp


def _alarm_email(value: Any) -> str | None:
    """Optional; an address SNS can confirm (it mails a confirmation link to it)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ConfigError(f"alerting:alarmEmail must be an e-mail address, got {value!r}")
    return value


@dataclass(frozen=True)
class StackSecrets:
    admin_token: pulumi.Output[str]
    redis_auth_token: pulumi.Output[str]
    secret_keys: pulumi.Output[str]  # ALERTING_SECRET_KEYS
    smtp_password: pulumi.Output[str] | None


def _check_redis_token(token: str) -> str:
    # ElastiCache's rules: 16-128 printable characters, none of @ " /.
    if not 16 <= len(token) <= 128 or any(c in token for c in '@"/ ') or not token.isprintable():
        raise ConfigError(
            'alerting:redisAuthToken must be 16-128 printable characters without @, " or /'
        )
    return token


def _check_admin_token(token: str) -> str:
    if len(token) < 16:
        raise ConfigError("alerting:adminToken must be at least 16 characters")
    return token


def check_secret_keys(keys: str) -> str:
    # The runtime's own parser: a keyring the services would refuse fails the preview.
    # Its messages name the item and key id, never a key.
    try:
        parsed = parse_secret_keys(keys)
    except ValueError as exc:
        raise ConfigError(f"alerting:secretKeys {exc}") from None
    if parsed is None:
        raise ConfigError("alerting:secretKeys is empty (`alerting secrets new-key` makes one)")
    return keys


def load() -> tuple[StackConfig, StackSecrets]:
    """Read the current stack's config (pulumi.Config) and its secrets."""
    config = pulumi.Config("alerting")
    keys = (
        "availabilityZones",
        "vpcCidr",
        "natGateway",
        "dnsNamespace",
        "cluster",
        "database",
        "cache",
        "kafka",
        "image",
        "logRetentionDays",
        "logLevel",
        "smtp",
        "services",
        "alarmEmail",
    )
    raw: dict[str, Any] = {}
    for key in keys:
        text = config.get(key)
        if text is None:
            continue
        # Structured values and booleans arrive as JSON text; plain strings as themselves.
        try:
            raw[key] = json.loads(text)
        except json.JSONDecodeError:
            raw[key] = text
    region = pulumi.Config("aws").require("region")
    smtp_password = config.get_secret("smtpPassword")
    secrets = StackSecrets(
        admin_token=config.require_secret("adminToken").apply(_check_admin_token),
        redis_auth_token=config.require_secret("redisAuthToken").apply(_check_redis_token),
        secret_keys=config.require_secret("secretKeys").apply(check_secret_keys),
        smtp_password=smtp_password,
    )
    return parse(raw, region), secrets
