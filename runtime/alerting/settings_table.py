"""The catalogue of settings: every ``ALERTING_*`` variable, its default and its meaning.

Kept apart from their parsing (``alerting.config``) because several readers need only
the list: the README's settings table (``make readme``), each command's ``--help``, the
roster's checks and the Pulumi stack, which must not pull in the parsing's dependencies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from alerting import roster
from alerting.secret_keys import FORMAT as SECRET_KEYS_FORMAT


@dataclass(frozen=True)
class Setting:
    env: str
    default: str | None
    help: str
    secret: bool = False


LARGEST_ALERT_BATCH = 1000

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "ALERTING_KAFKA_BOOTSTRAP", "127.0.0.1:9092", "Kafka bootstrap servers, comma separated"
    ),
    Setting("ALERTING_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT", "PLAINTEXT or SSL (MSK with TLS)"),
    Setting("ALERTING_KAFKA_PARTITIONS", "6", "partitions per topic, used by `alerting topics`"),
    Setting("ALERTING_KAFKA_REPLICATION_FACTOR", "1", "replication factor for created topics"),
    Setting("ALERTING_KAFKA_SESSION_TIMEOUT_MS", "6000", "consumer group session timeout"),
    Setting("ALERTING_KAFKA_HEARTBEAT_INTERVAL_MS", "1000", "consumer heartbeat interval"),
    Setting(
        "ALERTING_KAFKA_FETCH_MAX_WAIT_MS",
        "30",
        "longest a fetch waits for data; bounds produce-to-consume latency",
    ),
    Setting("ALERTING_KAFKA_LINGER_MS", "5", "producer linger: how long a batch may wait to fill"),
    Setting(
        "ALERTING_KAFKA_IDEMPOTENCE",
        "false",
        "idempotent producing (no duplicates on producer retries); true on Apache Kafka"
        " and MSK, false for Tansu, which rejects it",
    ),
    Setting("ALERTING_TOPIC_ALERTS_NEW", "alerts.new", "topic of posted alerts"),
    Setting("ALERTING_TOPIC_RULE_CHANGED", "rule.changed", "topic of rule change events"),
    Setting("ALERTING_TOPIC_ALERTS_MATCHED", "alerts.matched", "topic of (alert, client) matches"),
    Setting(
        "ALERTING_TOPIC_NOTIFICATIONS_READY",
        "notifications.ready",
        "topic of notifications to deliver",
    ),
    Setting("ALERTING_CONSUMER_GROUP", None, "consumer group id (default: alerting-<service>)"),
    Setting("ALERTING_BATCH_SIZE", "500", "most messages a consumer takes per batch"),
    Setting(
        "ALERTING_EVALUATOR_BATCH_SIZE",
        "2000",
        "most alerts the evaluator takes per batch (a larger batch spreads each batch's"
        " fixed cost)",
    ),
    Setting(
        "ALERTING_AGGREGATOR_BATCH_SIZE",
        "2000",
        "most matches the aggregator takes per batch (one INSERT and one produce each)",
    ),
    Setting(
        "ALERTING_POSTGRES_DSN",
        "postgresql://postgres@127.0.0.1:5432/alerting",
        "Postgres connection URL",
    ),
    Setting(
        "ALERTING_POSTGRES_PASSWORD",
        "",
        "Postgres password, merged into the DSN (for secret stores)",
        secret=True,
    ),
    Setting("ALERTING_POSTGRES_POOL_SIZE", "10", "largest Postgres connection pool per process"),
    Setting("ALERTING_REDIS_URL", "redis://127.0.0.1:6379/0", "Redis URL (rediss:// for TLS)"),
    Setting("ALERTING_REDIS_PASSWORD", "", "Redis auth token, merged into the URL", secret=True),
    Setting("ALERTING_REDIS_KEY_PREFIX", "", "prefix for every Redis key (isolates environments)"),
    Setting(
        "ALERTING_RECONCILE_INTERVAL_S",
        "30",
        "rule-updater: seconds between full comparisons of the snapshot with Postgres",
    ),
    Setting("ALERTING_HTTP_HOST", "0.0.0.0", "address the HTTP servers bind to"),  # noqa: S104
    # One port per roster entry; the HTTP APIs' ports first, then the workers' health ports.
    *(
        Setting(s.port_setting, str(s.port), s.port_help)
        for s in sorted(roster.SERVICES, key=lambda s: s.role != "http-api")
    ),
    Setting(
        "ALERTING_ADMIN_TOKEN",
        None,
        "admin bearer token (>= 16 chars); required by the HTTP APIs",
        secret=True,
    ),
    Setting(
        "ALERTING_API_KEY_REFRESH_S",
        "30",
        "ingest: seconds a verified API key is used before Postgres is asked again (the"
        " longest a revocation takes while Postgres answers; 0: ask on every request)",
    ),
    Setting(
        "ALERTING_API_KEY_MAX_STALE_S",
        "900",
        "ingest: while Postgres cannot answer, keys it answered for within this many"
        " seconds keep working (>= the refresh interval)",
    ),
    Setting(
        "ALERTING_AUTH_FAILURES_PER_SOURCE",
        "20",
        "HTTP APIs: failed authentications a source address may make per window before"
        " its requests answer 429 (0: no limit); docs/security.md",
    ),
    Setting(
        "ALERTING_AUTH_FAILURES_PER_PREFIX",
        "100",
        "HTTP APIs: failed authentications with one API key prefix, from any address, per"
        " window before that key's further wrong secrets answer 429 instead of 401 (the"
        " right secret still passes; 0: no limit)",
    ),
    Setting(
        "ALERTING_AUTH_FAILURE_WINDOW_S",
        "60",
        "HTTP APIs: the window of the failure limits, and the interval of the failure"
        " summaries in the log",
    ),
    Setting(
        "ALERTING_TRUSTED_PROXY_HOPS",
        "0",
        "HTTP APIs: proxies in front whose X-Forwarded-For entries are trusted; the source"
        " address is the entry this many from the right (0: the peer address)",
    ),
    Setting(
        "ALERTING_CURSOR_KEY",
        None,
        "rule-service: key (>= 16 chars) of the MAC on list cursors; unset: derived from"
        " the admin token",
        secret=True,
    ),
    Setting(
        "ALERTING_SECRET_KEYS",
        None,
        f"keys sealing stored endpoint secrets (AES-256-GCM), `{SECRET_KEYS_FORMAT}`: the"
        " first seals, all open; required by rule-service and sender (see docs/deployment.md,"
        " key rotation)",
        secret=True,
    ),
    Setting(
        "ALERTING_CLIENT_PURGE_BATCH",
        "1000",
        "rule-service: notifications of a deleted client removed per transaction (with their"
        " deliveries); the DELETE request removes up to 10 batches, a background loop the rest",
    ),
    Setting(
        "ALERTING_SILENCE_RELEASE_INTERVAL_S",
        "2",
        "rule-service: how often suppressed notifications of silences that ended (or windows"
        " between their ranges) are looked for and released to the sender",
    ),
    Setting(
        "ALERTING_RETENTION_DAYS",
        "30",
        "rule-service: settled notifications (with their deliveries and delivery attempts)"
        " and published rule_outbox rows older than this many days are removed in small"
        " batches; rows still in flight are kept (docs/operations.md, Retention)",
    ),
    Setting(
        "ALERTING_CONSOLE_INGEST_URL",
        "",
        "rule-service: where the web console's browser reaches the ingest API (an origin,"
        " e.g. http://127.0.0.1:8082); empty: the console's own origin, as behind the gateway",
    ),
    Setting(
        "ALERTING_CONSOLE_METRICS_URL",
        "",
        "rule-service: where the web console's browser reaches the metrics API; empty: the"
        " console's own origin",
    ),
    Setting(
        "ALERTING_CORS_ORIGINS",
        "",
        "ingest and metrics: browser origins (comma-separated) allowed to call the API"
        " cross-origin, i.e. the console's when it is served from another origin; empty: none",
    ),
    Setting(
        "ALERTING_WEBHOOK_SECRET_GRACE_S",
        "86400",
        "rule-service: how long a webhook's rotated-out signing secret still signs"
        " (`POST /api/v1/endpoints/{id}/rotate-secret`), so receivers can switch secrets",
    ),
    Setting("ALERTING_SMTP_HOST", "127.0.0.1", "SMTP server host"),
    Setting("ALERTING_SMTP_PORT", "1025", "SMTP server port"),
    Setting("ALERTING_SMTP_USERNAME", "", "SMTP username (empty: no AUTH; set: STARTTLS required)"),
    Setting("ALERTING_SMTP_PASSWORD", "", "SMTP password", secret=True),
    Setting(
        "ALERTING_SMTP_STARTTLS",
        "false",
        "upgrade SMTP connections with STARTTLS; the certificate is always verified",
    ),
    Setting("ALERTING_SMTP_FROM", "alerts@alerting.local", "From address of notification emails"),
    Setting("ALERTING_SMTP_POOL_SIZE", "16", "sender: SMTP connections kept open per process"),
    Setting("ALERTING_SMTP_TIMEOUT_S", "10", "SMTP connect and command timeout, seconds"),
    Setting("ALERTING_SENDER_CONCURRENCY", "64", "sender: deliveries in flight per process"),
    Setting(
        "ALERTING_SENDER_MAX_ATTEMPTS",
        "6",
        "sender: delivery attempts before a notification is FAILED",
    ),
    Setting(
        "ALERTING_SENDER_BACKOFF_BASE_MS",
        "2000",
        "sender: first retry delay; doubles per attempt, with equal jitter (half fixed)",
    ),
    Setting("ALERTING_SENDER_BACKOFF_MAX_MS", "300000", "sender: longest retry delay"),
    Setting(
        "ALERTING_SENDER_LEASE_S",
        "60",
        "sender: how long a claim lasts; a crashed sender's claims are taken over after it",
    ),
    Setting(
        "ALERTING_SENDER_POLL_INTERVAL_MS",
        "1000",
        "sender: how often due retries and expired claims are looked for",
    ),
    Setting(
        "ALERTING_SENDER_HTTP_TIMEOUT_S",
        "10",
        "sender: webhook/Slack timeout to connect, then again for the answer",
    ),
    Setting(
        "ALERTING_SENDER_RATE_PER_S",
        "50",
        "sender: sustained requests per second per destination (token bucket) for webhook"
        " and email, and any channel without a rate of its own; an endpoint's rate_per_s"
        " overrides it",
    ),
    Setting(
        "ALERTING_SENDER_RATE_BURST",
        "100",
        "sender: token bucket size per destination, for the same channels; an endpoint's"
        " rate_burst overrides it",
    ),
    Setting(
        "ALERTING_SENDER_GROUP_POLL_S",
        "0.25",
        "sender: how often the group flusher looks for due groups, seconds (a full batch"
        " looks again at once); a digest goes out at most this late (docs/grouping.md)",
    ),
    Setting(
        "ALERTING_SENDER_GROUP_BATCH",
        "20",
        "sender: most groups the flusher claims and delivers at once",
    ),
    # Tenant quotas (docs/quotas.md): they bound what one tenant or one key can make the
    # pipeline carry: the rule snapshot every evaluator holds, the deliveries per
    # notification, the alerts per second.
    Setting(
        "ALERTING_QUOTA_RULES_PER_CLIENT",
        "1000",
        "rule-service: most rules (enabled or not) one client may have; admins included",
    ),
    Setting(
        "ALERTING_QUOTA_ENDPOINTS_PER_RULE",
        "20",
        "rule-service: most endpoints one rule may have (deliveries per notification)",
    ),
    Setting(
        "ALERTING_QUOTA_API_KEYS_PER_CLIENT",
        "20",
        "rule-service: most active (not revoked) client keys one client may have",
    ),
    Setting(
        "ALERTING_QUOTA_SILENCES_PER_CLIENT",
        "1000",
        "rule-service: most silences and maintenance windows not yet over one client may have",
    ),
    Setting(
        "ALERTING_QUOTA_INGEST_ALERTS_PER_S",
        "2000",
        "ingest: sustained alerts per second one ingest key may post, per ingest process"
        " (token bucket; a batch of N costs N; the admin token is not limited)",
    ),
    Setting(
        "ALERTING_QUOTA_INGEST_BURST",
        "20000",
        "ingest: token bucket size per ingest key, in alerts (at least 1000, the largest"
        " batch, so every valid batch can fit)",
    ),
    Setting(
        "ALERTING_METRICS_TARGETS",
        "",
        "metrics: name=url pairs of services to scrape (default: every service on 127.0.0.1)",
    ),
    Setting(
        "ALERTING_ALLOW_PRIVATE_URLS",
        "false",
        "allow webhook/Slack URLs on loopback/private/link-local addresses (dev only)",
    ),
    Setting(
        "ALERTING_FAILPOINT",
        "",
        "tests only: `<name>:<n>` SIGKILLs the process at the n-th pass of a named crash point",
    ),
    Setting("ALERTING_LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR"),
    Setting("ALERTING_LOG_FORMAT", "json", "json (one object per line) or text"),
)

BY_ENV = {s.env: s for s in SETTINGS}


def _shown_default(s: Setting) -> str:
    if s.default is None:
        return "required" if "required" in s.help else "(unset)"
    return f"`{s.default}`" if s.default else "(empty)"


def markdown_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{s.env}` | {_shown_default(s)} | {s.help} |" for s in SETTINGS]
    return "\n".join(rows)


def expand(names: Iterable[str]) -> tuple[str, ...]:
    """Setting names, each once, with ``PREFIX*`` standing for every setting of that prefix
    in table order (the roster lists groups that way, since it cannot import this module).

    Raises KeyError for a name or prefix that matches no setting: a typo in a command's
    list would otherwise drop a setting from its --help without a word.
    """
    found: dict[str, None] = {}
    for name in names:
        if name.endswith("*"):
            group = [s.env for s in SETTINGS if s.env.startswith(name[:-1])]
        else:
            group = [name] if name in BY_ENV else []
        if not group:
            raise KeyError(f"{name} names no setting")
        found.update(dict.fromkeys(group))
    return tuple(found)


def describe(names: Iterable[str]) -> str:
    """The settings a command reads, for its --help epilog (``PREFIX*`` allowed)."""
    settings = [BY_ENV[name] for name in expand(names)]
    width = max(len(s.env) for s in settings)
    lines = ["settings (environment variables):"]
    for s in settings:
        lines.append(f"  {s.env.ljust(width)}  {s.help} [default: {_shown_default(s)}]")
    return "\n".join(lines)


KAFKA_VARS = expand(("ALERTING_KAFKA_*", "ALERTING_TOPIC_*"))
POSTGRES_VARS = expand(("ALERTING_POSTGRES_*",))
