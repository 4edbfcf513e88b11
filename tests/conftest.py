"""Test harness: real Postgres, Redis and a Kafka-protocol broker, isolated per session.

Each pytest-xdist worker is a session of its own (SESSION is drawn per process), so
everything below is per worker too; ports come from the worker's block (tests/ports.py).

* Postgres: the server at ALERTING_TEST_POSTGRES_URL (default the local one); when it
  does not answer, a private server is started. Each session gets a fresh database.
* Redis: the server at ALERTING_TEST_REDIS_URL, or a private one; each session gets
  its own key prefix.
* Kafka: always a private Tansu broker on a free port, with unique topic names.

Tests never start or stop servers themselves; they ask for these fixtures.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from alerting import config, migrations
from alerting.config import Settings
from alerting.dev import infra
from alerting.peers import packages
from tests.ports import free_port
from tests.processes import ServiceProcesses

REPO = Path(__file__).resolve().parent.parent
SESSION = uuid.uuid4().hex[:8]


@contextlib.contextmanager
def machine_lock(name: str) -> Iterator[None]:
    """Held by one process of the machine at a time. Every xdist worker finds the
    machine's servers missing at once; apt-get run by all of them together fails on
    dpkg's lock, so one installs and the others then find the packages there."""
    path = Path(tempfile.gettempdir()) / f"alerting-tests-{name}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def shared_or_private_server(
    env_name: str,
    default: str,
    answers: Callable[[str], bool],
    start_private: Callable[[int], infra.Started],
    private_url: str,
) -> Iterator[str]:
    """The server at ``$env_name`` (else ``default``) if it answers; otherwise a private one
    on a free port for this session, its URL ``private_url`` with ``{port}`` filled in."""
    url = os.environ.get(env_name, default)
    if answers(url):
        yield url
        return
    with machine_lock("packages"):
        infra.ensure_packages(infra.Progress("[harness]"))
    port = free_port()
    server = start_private(port)
    try:
        yield private_url.format(port=port)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def peer_binaries() -> None:
    """Prometheus and Alertmanager (Debian's packages, installed as root) for the tests
    that run them; only those ask, so `make dev` never needs them."""
    with machine_lock("packages"):
        packages.ensure(infra.Progress("[harness]"))


@pytest.fixture(scope="session")
def infra_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("infra")


@pytest.fixture(scope="session")
def postgres_dir() -> Iterator[Path]:
    """Where a private Postgres keeps its cluster, one per worker. Not under pytest's
    temporary tree: that is private to the user running pytest, and as root the cluster
    runs as the `postgres` user, which could not reach it."""
    root = Path(tempfile.mkdtemp(prefix="alerting-test-pg-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(postgres_dir: Path) -> Iterator[str]:
    """Base URL (no database) of a Postgres server with trust or password auth."""
    with shared_or_private_server(
        "ALERTING_TEST_POSTGRES_URL",
        "postgresql://postgres@127.0.0.1:5432",
        answers=lambda url: infra.postgres_answers(url + "/postgres"),
        start_private=lambda port: infra.start_postgres(
            postgres_dir / "pgdata", port, infra.Progress("[harness]")
        ),
        private_url="postgresql://postgres@127.0.0.1:{port}",
    ) as url:
        yield url


@pytest.fixture(scope="session")
def redis_server(infra_dir: Path) -> Iterator[str]:
    with shared_or_private_server(
        "ALERTING_TEST_REDIS_URL",
        "redis://127.0.0.1:6379/0",
        answers=infra.redis_answers,
        start_private=lambda port: infra.start_redis(infra_dir / "redis", port),
        private_url="redis://127.0.0.1:{port}/0",
    ) as url:
        yield url


@pytest.fixture(scope="session")
def kafka_bootstrap(infra_dir: Path) -> Iterator[str]:
    port = free_port()
    broker = infra.start_tansu(port, infra_dir)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        broker.stop()


def create_database(server_url: str, name: str) -> str:
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"{server_url}/{name}"


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def database_url(postgres_server: str) -> Iterator[str]:
    """A fresh, migrated database for this test session."""
    name = f"alerting_test_{SESSION}"
    dsn = create_database(postgres_server, name)
    migrations.apply(dsn)
    try:
        yield dsn
    finally:
        drop_database(postgres_server, name)


@pytest.fixture
def own_database(postgres_server: str) -> Iterator[str]:
    """A fresh, migrated database for one test whose assertions cover whole tables
    (the rule snapshot is global: other tests' rules would show up in it)."""
    name = f"alerting_own_{uuid.uuid4().hex[:10]}"
    dsn = create_database(postgres_server, name)
    try:
        migrations.apply(dsn)
        yield dsn
    finally:
        drop_database(postgres_server, name)


@pytest.fixture(scope="session")
def base_env(database_url: str, redis_server: str, kafka_bootstrap: str) -> dict[str, str]:
    """Settings of this session as environment variables, for in-process code and
    for service processes the tests start."""
    prefix = f"t{SESSION}"
    return {
        "ALERTING_POSTGRES_DSN": database_url,
        "ALERTING_REDIS_URL": redis_server,
        "ALERTING_REDIS_KEY_PREFIX": f"{prefix}:",
        "ALERTING_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "ALERTING_KAFKA_PARTITIONS": "3",
        "ALERTING_TOPIC_ALERTS_NEW": f"{prefix}.alerts.new",
        "ALERTING_TOPIC_RULE_CHANGED": f"{prefix}.rule.changed",
        "ALERTING_TOPIC_ALERTS_MATCHED": f"{prefix}.alerts.matched",
        "ALERTING_TOPIC_NOTIFICATIONS_READY": f"{prefix}.notifications.ready",
        "ALERTING_ADMIN_TOKEN": f"test-admin-token-{SESSION}",
        "ALERTING_SECRET_KEYS": "test:YWxlcnRpbmctdGVzdC1zdWl0ZS1zZWFsaW5nLWtleSE=",
        "ALERTING_ALLOW_PRIVATE_URLS": "true",
        "ALERTING_HTTP_HOST": "127.0.0.1",
        "ALERTING_LOG_FORMAT": "text",
        # Every test calls from 127.0.0.1, and many send wrong tokens on purpose: one
        # source for the whole session. The throttling tests set their own limits.
        "ALERTING_AUTH_FAILURES_PER_SOURCE": "100000",
        "ALERTING_AUTH_FAILURES_PER_PREFIX": "100000",
    }


@pytest.fixture(scope="session")
def settings(base_env: dict[str, str]) -> Settings:
    return config.load(base_env)


@pytest.fixture
def unique() -> str:
    """A short unique token for names a single test creates (topics, groups, clients)."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def service_processes(tmp_path: Path) -> Iterator[ServiceProcesses]:
    """Service processes for one test, logging under its tmp_path; all are killed when
    the test ends. Request it after the fixtures that give the processes their database,
    so the processes are gone before that database is dropped."""
    with ServiceProcesses(tmp_path) as processes:
        yield processes


@pytest.fixture
async def pg(settings: Settings) -> AsyncIterator[object]:
    import asyncpg

    conn = await asyncpg.connect(settings.postgres_dsn)
    try:
        yield conn
    finally:
        await conn.close()


def server_base(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
