"""The platform's long-running services, each declared once.

Everything that lists the services reads this roster: the CLI's service commands, the
``ALERTING_<SERVICE>_PORT`` settings and ``Settings.ports``, the metrics service's
default scrape targets, each service's ``--help``, and the deployment descriptions (the
Pulumi stack's services, consumers, HTTP APIs and gateway routes; docker-compose.yml is
checked against it). A new service is one entry here and its package
``alerting.services.<name>``; the tests then ask for what only an operator can decide:
its container in docker-compose.yml and its size in each Pulumi stack's config.

Only the standard library is imported: the settings module, the CLI's ``--help``, the
container health probe and the Pulumi program all import this, and none of them may
pull in service code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# An HTTP API answers API calls (through the gateway in AWS); a worker consumes or
# polls and serves only /healthz, /readyz and /metrics on its port.
Role = Literal["http-api", "worker"]

# What the shared process code reads for every service (runner: logging; the health or
# API server: host and the service's port) and for every consumer (the consume stage:
# Kafka, topics, consumer group). A trailing ``*`` stands for every setting of that prefix.
_EVERY_SERVICE = ("ALERTING_HTTP_HOST",)
_LOGGING = ("ALERTING_LOG_*",)
_EVERY_CONSUMER = ("ALERTING_KAFKA_*", "ALERTING_TOPIC_*", "ALERTING_CONSUMER_GROUP")
# What every HTTP API's authentication reads: the failed-authentication guard
# (alerting/web/auth_guard.py), built by each API's main from settings.auth_throttle.
_EVERY_HTTP_API = (
    "ALERTING_AUTH_FAILURES_PER_SOURCE",
    "ALERTING_AUTH_FAILURES_PER_PREFIX",
    "ALERTING_AUTH_FAILURE_WINDOW_S",
    "ALERTING_TRUSTED_PROXY_HOPS",
)
# What the Kafka producer of a service that does not consume reads.
_PRODUCER = (
    "ALERTING_KAFKA_BOOTSTRAP",
    "ALERTING_KAFKA_SECURITY_PROTOCOL",
    "ALERTING_KAFKA_LINGER_MS",
    "ALERTING_KAFKA_IDEMPOTENCE",
)


@dataclass(frozen=True)
class Service:
    """One long-running service: how it is started, where it listens, what it reads."""

    name: str  # `alerting <name>`, the compose service, the ECS service, the log field
    summary: str  # one line for `alerting --help`
    port: int  # default of ALERTING_<NAME>_PORT
    role: Role
    reads: tuple[str, ...]  # settings its own code reads (the shared ones are added)
    consumes: str | None = None  # the `Topics` field of the topic it consumes, if any
    routes: tuple[str, ...] = ()  # API gateway route keys served by an HTTP API
    # Its own code produces to Kafka (every consumer also does: dead letters).
    produces: bool = False

    @property
    def module(self) -> str:
        """The command module (``configure(parser)``, ``run(args)``): by convention the
        ``main`` of the service's package, named after the service."""
        return f"alerting.services.{self.name.replace('-', '_')}.main"

    @property
    def port_setting(self) -> str:
        return f"ALERTING_{self.name.upper().replace('-', '_')}_PORT"

    @property
    def port_help(self) -> str:
        what = "HTTP port" if self.role == "http-api" else "health/metrics port"
        return f"{self.name} {what}"

    @property
    def settings(self) -> tuple[str, ...]:
        """Every setting the running service reads, for its ``--help`` (may hold ``*``)."""
        shared = _EVERY_CONSUMER if self.consumes else ()
        api = _EVERY_HTTP_API if self.role == "http-api" else ()
        listed = (*shared, *self.reads, *api, *_EVERY_SERVICE, self.port_setting, *_LOGGING)
        return tuple(dict.fromkeys(listed))


RULE_SERVICE = Service(
    name="rule-service",
    summary="REST API for clients, rules, endpoints, silences, notifications and keys",
    port=8081,
    role="http-api",
    reads=(
        "ALERTING_ADMIN_TOKEN",
        "ALERTING_CURSOR_KEY",
        "ALERTING_SECRET_KEYS",
        "ALERTING_ALLOW_PRIVATE_URLS",
        "ALERTING_QUOTA_RULES_PER_CLIENT",
        "ALERTING_QUOTA_ENDPOINTS_PER_RULE",
        "ALERTING_QUOTA_API_KEYS_PER_CLIENT",
        "ALERTING_QUOTA_SILENCES_PER_CLIENT",
        "ALERTING_CLIENT_PURGE_BATCH",
        "ALERTING_SILENCE_RELEASE_INTERVAL_S",
        "ALERTING_RETENTION_DAYS",
        "ALERTING_CONSOLE_INGEST_URL",
        "ALERTING_CONSOLE_METRICS_URL",
        "ALERTING_WEBHOOK_SECRET_GRACE_S",
        # POST /api/v1/endpoints/{id}/test sends through the channels as the sender does.
        "ALERTING_SMTP_*",
        "ALERTING_SENDER_HTTP_TIMEOUT_S",
        "ALERTING_SMTP_TIMEOUT_S",
        "ALERTING_POSTGRES_*",
        "ALERTING_REDIS_*",  # whether changes are live (the evaluators' heartbeats)
        *_PRODUCER,
        "ALERTING_TOPIC_RULE_CHANGED",
    ),
    produces=True,  # the outbox relay publishes rule changes
    # Everything the two other APIs do not claim: the gateway's catch-all.
    routes=("$default",),
)
INGEST = Service(
    name="ingest",
    summary="HTTP API that accepts alerts and load-generator jobs",
    port=8082,
    role="http-api",
    reads=(
        "ALERTING_ADMIN_TOKEN",
        "ALERTING_API_KEY_*",
        "ALERTING_QUOTA_INGEST_*",
        "ALERTING_POSTGRES_*",
        *_PRODUCER,
        "ALERTING_TOPIC_ALERTS_NEW",
        "ALERTING_CORS_ORIGINS",
    ),
    produces=True,
    routes=("ANY /api/v1/alerts", "ANY /api/v1/loadgen/{proxy+}"),
)
RULE_UPDATER = Service(
    name="rule-updater",
    summary="keep the Redis rule snapshot equal to the enabled rules in Postgres",
    port=9101,
    role="worker",
    reads=(
        "ALERTING_BATCH_SIZE",
        "ALERTING_POSTGRES_*",
        "ALERTING_REDIS_*",
        "ALERTING_RECONCILE_INTERVAL_S",
    ),
    consumes="rule_changed",
)
EVALUATOR = Service(
    name="evaluator",
    summary="match posted alerts against the rule snapshot, one match per client",
    port=9102,
    role="worker",
    reads=("ALERTING_EVALUATOR_BATCH_SIZE", "ALERTING_REDIS_*"),
    consumes="alerts_new",
)
AGGREGATOR = Service(
    name="aggregator",
    summary="store one notification per episode and kind of a (client, alert) and announce it",
    port=9103,
    role="worker",
    reads=("ALERTING_AGGREGATOR_BATCH_SIZE", "ALERTING_POSTGRES_*"),
    consumes="alerts_matched",
)
SENDER = Service(
    name="sender",
    summary="deliver notifications by email, Slack and webhook, with retries",
    port=9104,
    role="worker",
    reads=(
        "ALERTING_BATCH_SIZE",
        "ALERTING_POSTGRES_*",
        "ALERTING_SMTP_*",
        "ALERTING_SENDER_*",
        "ALERTING_SECRET_KEYS",
        "ALERTING_ALLOW_PRIVATE_URLS",
    ),
    consumes="notifications_ready",
)
METRICS = Service(
    name="metrics",
    summary="pipeline overview: throughput, consumer lag, notification states",
    port=8083,
    role="http-api",
    reads=(
        "ALERTING_ADMIN_TOKEN",
        "ALERTING_METRICS_TARGETS",
        "ALERTING_POSTGRES_*",
        "ALERTING_KAFKA_*",
        "ALERTING_TOPIC_*",
        "ALERTING_CORS_ORIGINS",
    ),
    routes=("GET /api/v1/pipeline",),
)

# The order is the one operators see: `alerting --help`, `alerting dev`'s start-up and
# summary, the metrics service's scrape report.
SERVICES: tuple[Service, ...] = (
    RULE_SERVICE,
    INGEST,
    RULE_UPDATER,
    EVALUATOR,
    AGGREGATOR,
    SENDER,
    METRICS,
)
NAMES: tuple[str, ...] = tuple(s.name for s in SERVICES)
BY_NAME: dict[str, Service] = {s.name: s for s in SERVICES}

HTTP_APIS: tuple[Service, ...] = tuple(s for s in SERVICES if s.role == "http-api")
CONSUMERS: tuple[Service, ...] = tuple(s for s in SERVICES if s.consumes is not None)
# Every service that builds a Kafka producer: the consumers (run_stage's producer writes
# their output and dead letters) and the APIs that publish. Deployments turn idempotent
# producing on for exactly these.
PRODUCERS: tuple[Service, ...] = tuple(s for s in SERVICES if s.consumes or s.produces)
# The metrics service scrapes every other service's /metrics by default.
SCRAPED: tuple[Service, ...] = tuple(s for s in SERVICES if s is not METRICS)


def named(name: str) -> Service:
    """The roster entry of ``name``; a KeyError names what the roster does hold."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name!r} is not in the service roster ({', '.join(NAMES)})") from None
