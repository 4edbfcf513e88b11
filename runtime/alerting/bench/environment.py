"""Servers and names for one bench run, apart from everything else on them.

Servers are found or started as `alerting dev` does (the dev infra helpers), but the
run gets its own database (created, migrated, dropped at the end), and every case its
own topics, Redis key prefix and consumer groups: a bench never reads or writes dev
data, and a case's counts see only that case's messages.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from alerting import config, migrations, secret_keys
from alerting.config import Settings
from alerting.dev import infra

# Children only warn: their INFO start-up lines would bury the bench's progress.
CHILD_DEFAULTS = {
    "ALERTING_ALLOW_PRIVATE_URLS": "true",  # the sinks live on loopback
    "ALERTING_HTTP_HOST": "127.0.0.1",
    "ALERTING_LOG_FORMAT": "text",
    "ALERTING_LOG_LEVEL": "WARNING",
    # The bench measures the sender's work, not the politeness limit per endpoint.
    "ALERTING_SENDER_RATE_PER_S": "1000000",
    "ALERTING_SENDER_RATE_BURST": "1000000",
    "ALERTING_RECONCILE_INTERVAL_S": "3600",
}


@dataclass
class BenchEnv:
    env: dict[str, str]
    run_id: str
    server_url: str  # Postgres server, no database
    database: str
    started: list[infra.Started] = field(default_factory=list)
    database_created: bool = False
    # `--keep-database`: left in place for inspection (EXPLAIN on the `stored` stage's
    # history); no later run reuses it, so whoever keeps it drops it.
    keep_database: bool = False

    @property
    def settings(self) -> Settings:
        return config.load(self.env)

    def scope(self, case: str) -> dict[str, str]:
        """The run's env with this case's own topics and Redis keys."""
        base = f"bench-{self.run_id}-{case}"
        return {
            **self.env,
            "ALERTING_TOPIC_ALERTS_NEW": f"{base}.alerts.new",
            "ALERTING_TOPIC_RULE_CHANGED": f"{base}.rule.changed",
            "ALERTING_TOPIC_ALERTS_MATCHED": f"{base}.alerts.matched",
            "ALERTING_TOPIC_NOTIFICATIONS_READY": f"{base}.notifications.ready",
            "ALERTING_REDIS_KEY_PREFIX": f"{self.env.get('ALERTING_REDIS_KEY_PREFIX', '')}{base}:",
        }

    def close(self, progress: infra.Progress) -> None:
        if self.database_created and self.keep_database:
            progress(f"keeping database {self.database}: drop it with DROP DATABASE")
        elif self.database_created:
            progress(f"dropping database {self.database}")
            _admin(self.server_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database)
            self.database_created = False
        for server in reversed(self.started):
            progress(f"stopping {server.name} ({server.address})")
            server.stop()
        self.started.clear()


def _admin(server_url: str, statement: str, database: str) -> None:
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(sql.Identifier(database)))


def prepare(environ: dict[str, str], data_dir: Path, progress: infra.Progress) -> BenchEnv:
    """Find or start Postgres, Redis and a broker; create and migrate the run's database.

    On failure, whatever was already started is stopped before the error propagates.
    """
    env = {**CHILD_DEFAULTS, **environ}
    env.setdefault("ALERTING_ADMIN_TOKEN", secrets.token_urlsafe(24))
    # A key for the run (its database is dropped after it): the sender opens sealed secrets.
    env.setdefault("ALERTING_SECRET_KEYS", secret_keys.new_entry("bench"))
    settings = config.load(env)
    run_id = secrets.token_hex(3)
    parts = urlsplit(settings.postgres_dsn)
    bench = BenchEnv(env, run_id, "", f"alerting_bench_{run_id}")
    try:
        if not infra.postgres_answers(settings.postgres_dsn) or not infra.redis_answers(
            settings.redis_url
        ):
            infra.ensure_packages(progress)
        if infra.postgres_answers(settings.postgres_dsn):
            bench.server_url = f"{parts.scheme}://{parts.netloc}"
        else:
            port = infra.free_port()
            progress(f"Postgres: starting a private server on 127.0.0.1:{port}")
            pgdata = data_dir / "postgres" / "data"
            bench.started.append(infra.start_postgres(pgdata, port, progress))
            bench.server_url = f"postgresql://postgres@127.0.0.1:{port}"
        if not infra.redis_answers(settings.redis_url):
            port = infra.free_port()
            progress(f"Redis: starting a private server on 127.0.0.1:{port}")
            bench.started.append(infra.start_redis(data_dir / "redis", port))
            env["ALERTING_REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        host, _, port_text = settings.kafka.bootstrap.split(",")[0].rpartition(":")
        if not infra.port_open(host, int(port_text)):
            port = infra.free_port()
            progress(f"Kafka: starting a Tansu broker (memory only) on 127.0.0.1:{port}")
            bench.started.append(infra.start_tansu(port, data_dir))
            env["ALERTING_KAFKA_BOOTSTRAP"] = f"127.0.0.1:{port}"
        progress(f"Postgres {config.redact(bench.server_url)}, database {bench.database}")
        _admin(bench.server_url, "CREATE DATABASE {}", bench.database)
        bench.database_created = True
        env["ALERTING_POSTGRES_DSN"] = f"{bench.server_url}/{bench.database}"
        migrations.apply(env["ALERTING_POSTGRES_DSN"])
        progress(f"Redis {config.redact(env.get('ALERTING_REDIS_URL', settings.redis_url))}")
        progress(f"Kafka {env.get('ALERTING_KAFKA_BOOTSTRAP', settings.kafka.bootstrap)}")
    except BaseException:
        bench.close(progress)
        raise
    return bench
