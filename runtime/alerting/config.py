"""Settings, read once from the environment.

Every setting is an ``ALERTING_*`` environment variable with a documented default.
A bad value stops the process at start with one line naming the variable, because a
service that starts half-configured fails later in a way that is much harder to read.
The list of settings is ``alerting.settings_table`` (re-exported here); the README's
table is generated from it (``make readme``), so the docs cannot drift from the code.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from alerting import roster
from alerting.console import origins
from alerting.secret_keys import SecretKey, parse_secret_keys
from alerting.settings_table import BY_ENV
from alerting.settings_table import KAFKA_VARS as KAFKA_VARS
from alerting.settings_table import LARGEST_ALERT_BATCH as LARGEST_ALERT_BATCH
from alerting.settings_table import POSTGRES_VARS as POSTGRES_VARS
from alerting.settings_table import SETTINGS as SETTINGS
from alerting.settings_table import Setting as Setting
from alerting.settings_table import describe as describe
from alerting.settings_table import expand as expand
from alerting.settings_table import markdown_table as markdown_table

T = TypeVar("T")


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the variable."""


def _int(env: str, raw: str, lo: int = 0, hi: int = 2**31) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{env}={raw!r} is not an integer") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{env}={value} is out of range [{lo}, {hi}]")
    return value


def _seconds(env: str, raw: str, lo: float, hi: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{env}={raw!r} is not a number of seconds") from None
    if not lo <= value <= hi:  # NaN fails this too
        raise ConfigError(f"{env}={value} is out of range [{lo}, {hi}]")
    return value


def _bool(env: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{env}={raw!r} is not a boolean (use true or false)")


def _choice(env: str, raw: str, choices: tuple[str, ...]) -> str:
    value = raw.strip()
    if value.upper() in choices:
        return value.upper()
    if value.lower() in choices:
        return value.lower()
    raise ConfigError(f"{env}={raw!r} must be one of {', '.join(choices)}")


def _url(env: str, raw: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(f"{env}={_redact(raw)!r} must be a {'/'.join(schemes)} URL with a host")
    return raw


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _with_password(url: str, password: str) -> str:
    """Put a separately supplied password into a URL (ECS injects secrets one per variable)."""
    if not password:
        return url
    parts = urlsplit(url)
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


# The most alerts one POST may carry (ingest's ``MAX_ALERTS``): the ingest token bucket
# must hold at least this many, or a valid batch could never fit and its 429 would ask
# for a retry that can never succeed.


@dataclass(frozen=True)
class Topics:
    alerts_new: str
    rule_changed: str
    alerts_matched: str
    notifications_ready: str

    def all(self) -> tuple[str, ...]:
        return (self.alerts_new, self.rule_changed, self.alerts_matched, self.notifications_ready)

    def consumed_by(self, service: roster.Service) -> str:
        """The topic a consumer reads; the roster names it by this class's field."""
        if service.consumes is None:
            raise ValueError(f"{service.name} consumes no topic")
        topic: str = getattr(self, service.consumes)
        return topic

    @staticmethod
    def dlq(topic: str) -> str:
        return f"{topic}.dlq"


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap: str
    security_protocol: str
    partitions: int
    replication_factor: int
    session_timeout_ms: int
    heartbeat_interval_ms: int
    fetch_max_wait_ms: int
    linger_ms: int
    batch_size: int
    evaluator_batch_size: int
    aggregator_batch_size: int
    consumer_group: str | None
    idempotence: bool  # ALERTING_KAFKA_IDEMPOTENCE: see producer_options


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    starttls: bool
    sender: str


@dataclass(frozen=True)
class SenderSettings:
    concurrency: int
    max_attempts: int
    backoff_base_ms: int
    backoff_max_ms: int
    lease_s: int
    poll_interval_ms: int
    http_timeout_s: int
    rate_per_s: int
    rate_burst: int
    smtp_pool_size: int
    smtp_timeout_s: int
    # The group flusher's (docs/grouping.md): how often it looks for due groups, and
    # how many it claims at once.
    group_poll_s: float = 0.25
    group_batch: int = 20


@dataclass(frozen=True)
class QuotaSettings:
    """Tenant quotas (``ALERTING_QUOTA_*``, docs/quotas.md)."""

    rules_per_client: int
    endpoints_per_rule: int
    api_keys_per_client: int
    ingest_alerts_per_s: int
    ingest_burst: int
    silences_per_client: int = 1000


@dataclass(frozen=True)
class AuthThrottleSettings:
    """Failed-authentication limits of the HTTP APIs (``alerting.web.auth_guard``); the
    defaults are the settings' defaults."""

    failures_per_source: int = 20
    failures_per_prefix: int = 100
    window_s: int = 60
    trusted_proxy_hops: int = 0


@dataclass(frozen=True)
class Settings:
    kafka: KafkaSettings
    topics: Topics
    postgres_dsn: str = field(repr=False)
    postgres_pool_size: int
    redis_url: str = field(repr=False)
    redis_key_prefix: str
    reconcile_interval_s: int
    http_host: str
    ports: Mapping[str, int]
    admin_token: str | None = field(repr=False)
    api_key_refresh_s: int
    api_key_max_stale_s: int
    cursor_key: str | None = field(repr=False)
    auth_throttle: AuthThrottleSettings
    secret_keys: tuple[SecretKey, ...] | None = field(repr=False)
    client_purge_batch: int
    smtp: SmtpSettings
    sender: SenderSettings
    quotas: QuotaSettings
    metrics_targets: Mapping[str, str]
    allow_private_urls: bool
    failpoint: str
    log_level: str
    log_format: str
    silence_release_interval_s: int = 2
    webhook_secret_grace_s: int = 86_400
    retention_days: int = 30
    # The web console (alerting/console): where the browser reaches ingest and metrics
    # ("": the console's own origin), and the origins ingest and metrics let call them.
    console_ingest_url: str = ""
    console_metrics_url: str = ""
    cors_origins: tuple[str, ...] = ()

    def group_id(self, service: str) -> str:
        return self.kafka.consumer_group or f"alerting-{service}"

    def port(self, service: str) -> int:
        return self.ports[service]

    def require_admin_token(self) -> str:
        if not self.admin_token:
            raise ConfigError("ALERTING_ADMIN_TOKEN is required (set it to a random secret)")
        return self.admin_token

    def require_secret_keys(self) -> tuple[SecretKey, ...]:
        # No fallback to storing plain text: a missing key must stop the process at
        # start, not quietly leave every new credential readable in the database.
        if not self.secret_keys:
            raise ConfigError(
                "ALERTING_SECRET_KEYS is required (it seals stored endpoint secrets;"
                " `alerting secrets new-key` makes one)"
            )
        return self.secret_keys


def _secret_keys(raw: str) -> tuple[SecretKey, ...] | None:
    try:
        return parse_secret_keys(raw)
    except ValueError as exc:
        raise ConfigError(f"ALERTING_SECRET_KEYS {exc}") from None


def _targets(raw: str, ports: Mapping[str, int]) -> dict[str, str]:
    """``name=url,name=url``; empty means every scraped service on this host at its port."""
    if not raw.strip():
        return {s.name: f"http://127.0.0.1:{ports[s.name]}" for s in roster.SCRAPED}
    targets: dict[str, str] = {}
    for item in raw.split(","):
        name, sep, url = item.strip().partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"ALERTING_METRICS_TARGETS item {item.strip()!r} must be name=url")
        targets[name.strip()] = _url("ALERTING_METRICS_TARGETS", url.strip(), ("http", "https"))
    return targets


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise ConfigError naming the first bad one."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str:
        setting = BY_ENV[name]
        raw = env.get(name)
        if raw is None or (raw == "" and setting.default not in (None, "")):
            return setting.default or ""
        return raw

    def integer(name: str, lo: int = 0, hi: int = 2**31) -> int:
        return _int(name, get(name), lo, hi)

    def topic(name: str) -> str:
        value = get(name).strip()
        if not value or len(value) > 200 or not all(c.isalnum() or c in "._-" for c in value):
            raise ConfigError(f"{name}={value!r} is not a valid topic name")
        return value

    admin_token = get("ALERTING_ADMIN_TOKEN") or None
    if admin_token is not None and len(admin_token) < 16:
        raise ConfigError("ALERTING_ADMIN_TOKEN must be at least 16 characters")

    api_key_refresh_s = integer("ALERTING_API_KEY_REFRESH_S", 0, 3600)
    api_key_max_stale_s = integer("ALERTING_API_KEY_MAX_STALE_S", 0, 86_400)
    if api_key_max_stale_s < api_key_refresh_s:
        raise ConfigError(
            f"ALERTING_API_KEY_MAX_STALE_S={api_key_max_stale_s} must be at least"
            f" ALERTING_API_KEY_REFRESH_S={api_key_refresh_s}"
        )
    cursor_key = get("ALERTING_CURSOR_KEY") or None
    if cursor_key is not None and len(cursor_key) < 16:
        raise ConfigError("ALERTING_CURSOR_KEY must be at least 16 characters")

    ports = {s.name: integer(s.port_setting, 1, 65535) for s in roster.SERVICES}
    postgres_dsn = _url(
        "ALERTING_POSTGRES_DSN", get("ALERTING_POSTGRES_DSN"), ("postgresql", "postgres")
    )
    redis_url = _url("ALERTING_REDIS_URL", get("ALERTING_REDIS_URL"), ("redis", "rediss"))
    bootstrap = get("ALERTING_KAFKA_BOOTSTRAP").strip()
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(
                f"ALERTING_KAFKA_BOOTSTRAP={bootstrap!r} must be host:port[,host:port]"
            )

    return Settings(
        kafka=KafkaSettings(
            bootstrap=bootstrap,
            security_protocol=_choice(
                "ALERTING_KAFKA_SECURITY_PROTOCOL",
                get("ALERTING_KAFKA_SECURITY_PROTOCOL"),
                ("PLAINTEXT", "SSL"),
            ),
            partitions=integer("ALERTING_KAFKA_PARTITIONS", 1, 10_000),
            replication_factor=integer("ALERTING_KAFKA_REPLICATION_FACTOR", 1, 10),
            session_timeout_ms=integer("ALERTING_KAFKA_SESSION_TIMEOUT_MS", 1000, 600_000),
            heartbeat_interval_ms=integer("ALERTING_KAFKA_HEARTBEAT_INTERVAL_MS", 100, 60_000),
            fetch_max_wait_ms=integer("ALERTING_KAFKA_FETCH_MAX_WAIT_MS", 0, 10_000),
            linger_ms=integer("ALERTING_KAFKA_LINGER_MS", 0, 10_000),
            batch_size=integer("ALERTING_BATCH_SIZE", 1, 100_000),
            evaluator_batch_size=integer("ALERTING_EVALUATOR_BATCH_SIZE", 1, 100_000),
            aggregator_batch_size=integer("ALERTING_AGGREGATOR_BATCH_SIZE", 1, 100_000),
            consumer_group=get("ALERTING_CONSUMER_GROUP").strip() or None,
            idempotence=_bool("ALERTING_KAFKA_IDEMPOTENCE", get("ALERTING_KAFKA_IDEMPOTENCE")),
        ),
        topics=Topics(
            alerts_new=topic("ALERTING_TOPIC_ALERTS_NEW"),
            rule_changed=topic("ALERTING_TOPIC_RULE_CHANGED"),
            alerts_matched=topic("ALERTING_TOPIC_ALERTS_MATCHED"),
            notifications_ready=topic("ALERTING_TOPIC_NOTIFICATIONS_READY"),
        ),
        postgres_dsn=_with_password(postgres_dsn, get("ALERTING_POSTGRES_PASSWORD")),
        postgres_pool_size=integer("ALERTING_POSTGRES_POOL_SIZE", 1, 1000),
        redis_url=_with_password(redis_url, get("ALERTING_REDIS_PASSWORD")),
        redis_key_prefix=get("ALERTING_REDIS_KEY_PREFIX"),
        reconcile_interval_s=integer("ALERTING_RECONCILE_INTERVAL_S", 1, 86_400),
        http_host=get("ALERTING_HTTP_HOST").strip(),
        ports=ports,
        admin_token=admin_token,
        api_key_refresh_s=api_key_refresh_s,
        api_key_max_stale_s=api_key_max_stale_s,
        cursor_key=cursor_key,
        auth_throttle=AuthThrottleSettings(
            failures_per_source=integer("ALERTING_AUTH_FAILURES_PER_SOURCE", 0, 1_000_000),
            failures_per_prefix=integer("ALERTING_AUTH_FAILURES_PER_PREFIX", 0, 1_000_000),
            window_s=integer("ALERTING_AUTH_FAILURE_WINDOW_S", 1, 3600),
            trusted_proxy_hops=integer("ALERTING_TRUSTED_PROXY_HOPS", 0, 10),
        ),
        secret_keys=_secret_keys(get("ALERTING_SECRET_KEYS")),
        client_purge_batch=integer("ALERTING_CLIENT_PURGE_BATCH", 1, 10_000),
        smtp=_smtp(get, integer),
        sender=SenderSettings(
            concurrency=integer("ALERTING_SENDER_CONCURRENCY", 1, 10_000),
            max_attempts=integer("ALERTING_SENDER_MAX_ATTEMPTS", 1, 100),
            backoff_base_ms=integer("ALERTING_SENDER_BACKOFF_BASE_MS", 1, 3_600_000),
            backoff_max_ms=integer("ALERTING_SENDER_BACKOFF_MAX_MS", 1, 86_400_000),
            lease_s=integer("ALERTING_SENDER_LEASE_S", 1, 3600),
            poll_interval_ms=integer("ALERTING_SENDER_POLL_INTERVAL_MS", 10, 600_000),
            http_timeout_s=integer("ALERTING_SENDER_HTTP_TIMEOUT_S", 1, 300),
            rate_per_s=integer("ALERTING_SENDER_RATE_PER_S", 1, 1_000_000),
            rate_burst=integer("ALERTING_SENDER_RATE_BURST", 1, 1_000_000),
            smtp_pool_size=integer("ALERTING_SMTP_POOL_SIZE", 1, 100),
            smtp_timeout_s=integer("ALERTING_SMTP_TIMEOUT_S", 1, 300),
            group_poll_s=_seconds(
                "ALERTING_SENDER_GROUP_POLL_S", get("ALERTING_SENDER_GROUP_POLL_S"), 0.01, 600
            ),
            group_batch=integer("ALERTING_SENDER_GROUP_BATCH", 1, 1000),
        ),
        quotas=QuotaSettings(
            rules_per_client=integer("ALERTING_QUOTA_RULES_PER_CLIENT", 1, 1_000_000),
            endpoints_per_rule=integer("ALERTING_QUOTA_ENDPOINTS_PER_RULE", 1, 10_000),
            api_keys_per_client=integer("ALERTING_QUOTA_API_KEYS_PER_CLIENT", 1, 10_000),
            ingest_alerts_per_s=integer("ALERTING_QUOTA_INGEST_ALERTS_PER_S", 1, 10_000_000),
            ingest_burst=integer("ALERTING_QUOTA_INGEST_BURST", LARGEST_ALERT_BATCH, 1_000_000_000),
            silences_per_client=integer("ALERTING_QUOTA_SILENCES_PER_CLIENT", 1, 1_000_000),
        ),
        metrics_targets=_targets(get("ALERTING_METRICS_TARGETS"), ports),
        allow_private_urls=_bool("ALERTING_ALLOW_PRIVATE_URLS", get("ALERTING_ALLOW_PRIVATE_URLS")),
        failpoint=get("ALERTING_FAILPOINT"),
        log_level=_choice(
            "ALERTING_LOG_LEVEL", get("ALERTING_LOG_LEVEL"), ("DEBUG", "INFO", "WARNING", "ERROR")
        ),
        log_format=_choice("ALERTING_LOG_FORMAT", get("ALERTING_LOG_FORMAT"), ("json", "text")),
        silence_release_interval_s=integer("ALERTING_SILENCE_RELEASE_INTERVAL_S", 1, 3600),
        webhook_secret_grace_s=integer("ALERTING_WEBHOOK_SECRET_GRACE_S", 0, 30 * 86_400),
        retention_days=integer("ALERTING_RETENTION_DAYS", 1, 3650),
        console_ingest_url=_console("ALERTING_CONSOLE_INGEST_URL", get, origins.api_base),
        console_metrics_url=_console("ALERTING_CONSOLE_METRICS_URL", get, origins.api_base),
        cors_origins=_console("ALERTING_CORS_ORIGINS", get, origins.origins),
    )


# AUTH PLAIN and LOGIN carry the password as base64: without STARTTLS, anyone on the
# path reads it. The pool has no implicit-TLS mode (port 465), so there is no other
# way for credentials to travel encrypted.
CLEAR_CREDENTIALS = (
    "ALERTING_SMTP_USERNAME is set but ALERTING_SMTP_STARTTLS is not true: the SMTP"
    " password would cross the network in clear (set ALERTING_SMTP_STARTTLS=true, or"
    " leave the username empty for a relay that takes mail without AUTH)"
)


def _smtp(get: Callable[[str], str], integer: Callable[[str, int, int], int]) -> SmtpSettings:
    smtp = SmtpSettings(
        host=get("ALERTING_SMTP_HOST").strip(),
        port=integer("ALERTING_SMTP_PORT", 1, 65535),
        username=get("ALERTING_SMTP_USERNAME"),
        password=get("ALERTING_SMTP_PASSWORD"),
        starttls=_bool("ALERTING_SMTP_STARTTLS", get("ALERTING_SMTP_STARTTLS")),
        sender=get("ALERTING_SMTP_FROM").strip(),
    )
    if smtp.username and not smtp.starttls:
        raise ConfigError(CLEAR_CREDENTIALS)
    return smtp


def _console(name: str, get: Callable[[str], str], parse: Callable[[str], T]) -> T:
    try:
        return parse(get(name))
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def redact(url: str) -> str:
    """A URL fit for logs: the password replaced."""
    return _redact(url)
