"""Support of the fault suite: servers a test may stop, and a 3,000-alert run around it.

The session's Postgres, Redis and broker are shared by every test (and by xdist
workers), so a test that stops one would break the others. A fault test gets its own:
a Postgres cluster, a Redis and a Tansu broker on free ports, started here and stopped
when the test ends. The broker sits behind a ``TcpProxy`` and advertises the proxy's
address, so cutting the proxy cuts every client connection, not only the bootstrap one,
while the broker and what it holds stay up.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psycopg

from alerting import migrations
from alerting.dev import infra
from tests.e2e.pipeline import DATA_PLANE, Pipeline
from tests.pipeline_support import create_topics, eventually
from tests.ports import free_port
from tests.processes import ServiceProcess
from tests.tcp_proxy import TcpProxy

DATABASE = "alerting"
HOOK = "faults"
EMAIL = "oncall@faults.example"


class PrivateServers:
    """A Postgres, a Redis and a broker of one test, each of which it may stop."""

    def __init__(self) -> None:
        # Under /tmp, not pytest's tmp_path: Postgres runs as the `postgres` user when we
        # are root, and pytest's directories are private to the user that made them.
        self.root = Path(tempfile.mkdtemp(prefix="alerting-faults-"))
        self.root.chmod(0o755)
        self.pg_port = free_port()
        self.redis_port = free_port()
        self.kafka_port = free_port()
        self.proxy = TcpProxy("127.0.0.1", self.kafka_port)
        self.proxy.port = free_port()
        self.postgres: infra.Started | None = None
        self.redis: infra.Started | None = None
        self.kafka: infra.Started | None = None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/{DATABASE}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.proxy.port}"

    async def start(self, tries: int = 3) -> None:
        await asyncio.to_thread(self._first_start)
        for attempt in range(tries):  # the same race as below, for the broker and proxy
            try:
                self.kafka = await asyncio.to_thread(
                    infra.start_tansu, self.kafka_port, self.root, self.proxy.port
                )
                await self.proxy.start()
                if not _running(self.kafka):
                    raise infra.InfraError("the broker lost its port")
                return
            except (infra.InfraError, OSError):
                if self.kafka is not None:
                    await asyncio.to_thread(self.kafka.stop)
                if attempt == tries - 1:
                    raise
                self.kafka_port, self.proxy.port = free_port(), free_port()
                self.proxy.target_port = self.kafka_port

    def _first_start(self, tries: int = 3) -> None:
        """Postgres and Redis on free ports. A port found free may be taken by someone
        else before our server binds it (the machine runs other tests): the server
        then exits while the port answers, for the other owner. Such a start is tried
        again on new ports."""
        for attempt in range(tries):
            try:
                self.start_postgres()
                self._create_database()
                self.start_redis()
                if not infra.redis_answers(self.redis_url) or not self._alive():
                    raise infra.InfraError("a private server lost its port")
                return
            except (infra.InfraError, psycopg.Error):
                for server in (self.redis, self.postgres):
                    if server is not None:
                        server.stop()
                if attempt == tries - 1:
                    raise
                self.pg_port, self.redis_port = free_port(), free_port()

    def _alive(self) -> bool:
        return _running(self.postgres) and _running(self.redis)

    def start_postgres(self) -> None:
        """Start (or start again: the data directory is kept) the private cluster."""
        progress = infra.Progress("[faults]")
        self.postgres = infra.start_postgres(self.root / "pgdata", self.pg_port, progress)

    def stop_postgres(self) -> None:
        assert self.postgres is not None
        self.postgres.stop()

    def start_redis(self) -> None:
        """Start Redis; it persists nothing, so a restart starts empty."""
        self.redis = infra.start_redis(self.root / "redis", self.redis_port)

    def stop_redis(self) -> None:
        assert self.redis is not None
        self.redis.stop()

    def _create_database(self) -> None:
        base = f"postgresql://postgres@127.0.0.1:{self.pg_port}"
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if exists.fetchone() is None:  # made by an earlier try that lost its Redis port
                conn.execute(f"CREATE DATABASE {DATABASE}")
        migrations.apply(self.dsn)

    def env(self, base_env: dict[str, str]) -> dict[str, str]:
        return {
            **base_env,
            "ALERTING_POSTGRES_DSN": self.dsn,
            "ALERTING_REDIS_URL": self.redis_url,
            "ALERTING_KAFKA_BOOTSTRAP": self.bootstrap,
        }

    async def close(self) -> None:
        await self.proxy.cut()
        for server in (self.kafka, self.redis, self.postgres):
            if server is not None:
                await asyncio.to_thread(server.stop)
        shutil.rmtree(self.root, ignore_errors=True)


def _running(server: infra.Started | None) -> bool:
    return server is not None and server.process is not None and server.process.poll() is None


# --- the run ----------------------------------------------------------------------


@dataclass
class Posting:
    """What ingest answered: every alert id acknowledged once, and the refusals."""

    accepted: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    retried_after: list[float] = field(default_factory=list)  # Retry-After values obeyed
    errors: Counter[str] = field(default_factory=Counter)  # transport errors, retried
    accepted_at: list[float] = field(default_factory=list)  # wall time of each 202


async def post_batch(
    http: httpx.AsyncClient, url: str, token: str, batch: list[dict[str, Any]], posting: Posting
) -> None:
    """Post until 202: a 503 is retried after its Retry-After, a transport error at once
    (the ids are the alerts' own, so a retry of a batch that did land is deduplicated
    downstream). Any other answer is a failure of the run."""
    headers = {"Authorization": f"Bearer {token}"}
    while True:
        try:
            response = await http.post(url, headers=headers, json={"alerts": batch})
        except httpx.HTTPError as exc:
            posting.errors[type(exc).__name__] += 1
            await asyncio.sleep(0.5)
            continue
        posting.statuses[response.status_code] += 1
        if response.status_code == 202:
            ids = response.json()["alert_ids"]
            assert sorted(ids) == sorted(a["alert_id"] for a in batch), response.text
            posting.accepted.update(ids)
            posting.accepted_at.append(time.time())
            return
        assert response.status_code == 503, (response.status_code, response.text)
        retry_after = float(response.headers["Retry-After"])
        posting.retried_after.append(retry_after)
        await asyncio.sleep(retry_after)


async def post_paced(
    pipeline: Pipeline,
    token: str,
    alerts: list[dict[str, Any]],
    batch: int,
    seconds: float,
    posting: Posting,
) -> None:
    """Post ``alerts`` in batches spread evenly over ``seconds``; a batch that is refused
    retries on its own while the next ones go out on time."""
    url = f"{pipeline.url('ingest')}/api/v1/alerts"
    batches = [alerts[i : i + batch] for i in range(0, len(alerts), batch)]
    gap = seconds / len(batches)
    tasks = []
    for chunk in batches:
        tasks.append(asyncio.create_task(post_batch(pipeline.http, url, token, chunk, posting)))
        await asyncio.sleep(gap)
    await asyncio.gather(*tasks)


def make_alerts(unique: str, count: int) -> list[dict[str, Any]]:
    return [
        {"alert_id": f"{unique}-{i}", "severity": "HIGH", "source": "faults", "name": f"n{i % 5}"}
        for i in range(count)
    ]


async def start_platform(pipeline: Pipeline) -> str:
    """All seven services, one tenant whose rule sends each alert to a webhook and an
    email; returns an ingest-scoped token made with the admin API."""
    # Started in threads: waiting for readiness must not block this event loop, which
    # runs the broker's proxy.
    await create_topics(pipeline.env)
    await asyncio.to_thread(pipeline.sinks.start)
    for name in DATA_PLANE:
        proc = ServiceProcess(name, pipeline.env, pipeline.log_dir)
        pipeline.procs[name] = await asyncio.to_thread(proc.start)
    targets = ",".join(f"{name}={proc.url}" for name, proc in pipeline.procs.items())
    metrics = ServiceProcess(
        "metrics", {**pipeline.env, "ALERTING_METRICS_TARGETS": targets}, pipeline.log_dir
    )
    pipeline.procs["metrics"] = await asyncio.to_thread(metrics.start)
    await pipeline.create_tenant(
        f"faults-{pipeline.settings.topics.alerts_new}",
        rules=[("HIGH", "faults", "*")],
        endpoints=[("webhook", f"{pipeline.hook_base}/{HOOK}"), ("email", EMAIL)],
    )
    key = await pipeline.api("POST", "/api/v1/api-keys", json={"scope": "ingest"})
    await pipeline.wait_rules_live(1)
    return str(key["token"])


def pids(pipeline: Pipeline) -> dict[str, int]:
    return {name: proc.process.pid for name, proc in pipeline.procs.items() if proc.process}


def dead(pipeline: Pipeline) -> dict[str, int | None]:
    """Services whose process exited (with its code): none may, through any fault."""
    exited: dict[str, int | None] = {}
    for name, proc in pipeline.procs.items():
        code = proc.process.poll() if proc.process is not None else -1
        if code is not None:
            exited[name] = code
    return exited


@dataclass
class Delivered:
    webhooks: Counter[str]  # alert id -> webhook calls
    emails: Counter[str]  # alert id -> emails
    first_webhook_after: float | None  # wall time of the first webhook after the restore
    last: float | None  # wall time of the last webhook or email: when the backlog was done


async def delivered(pipeline: Pipeline, restored_at: float) -> Delivered:
    calls = await pipeline.received(HOOK)
    mails = await pipeline.emails()
    after = [c["received_at"] for c in calls if c["received_at"] >= restored_at]
    return Delivered(
        Counter(c["body"]["alert_id"] for c in calls),
        Counter(_alert_of(m) for m in mails),
        min(after, default=None),
        max((x["received_at"] for x in [*calls, *mails]), default=None),
    )


def _alert_of(mail: dict[str, Any]) -> str:
    """The alert id an email is about, from its body's "alert_id: ..." line."""
    for line in mail["body"].splitlines():
        key, _, value = line.partition(":")
        if key == "alert_id":
            return str(value).strip()
    raise AssertionError(f"no alert id in email: {mail['body'][:300]!r}")


async def wait_all_delivered(pipeline: Pipeline, expected: set[str], timeout: float) -> None:
    """Until every expected alert reached both sinks and every notification is SENT."""

    async def done() -> bool:
        counts = await pipeline.status_counts()
        if counts.get("SENT", 0) < len(expected):
            return False
        got = await delivered(pipeline, 0)
        return set(got.webhooks) >= expected and set(got.emails) >= expected

    await eventually(done, timeout=timeout, what=f"{len(expected)} alerts at both sinks")


async def settle(pipeline: Pipeline, quiet_s: float = 5.0, timeout: float = 60.0) -> None:
    """Until nothing new reached the sinks for ``quiet_s``: a late duplicate shows."""
    last: tuple[int, int] | None = None
    quiet_since = time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = (len(await pipeline.received(HOOK)), len(await pipeline.emails()))
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return
        await asyncio.sleep(0.5)


def lines(path: Path) -> int:
    with contextlib.suppress(FileNotFoundError):
        return path.read_bytes().count(b"\n")
    return 0


def _rel(seconds: float | None) -> str:
    """A time relative to the restore; None where the row no longer says (a sent row's
    lease may be cleared)."""
    return "?" if seconds is None else f"{seconds:+.0f}s"


async def late(pipeline: Pipeline, restored_at: float, after_s: float = 30.0) -> str:
    """The notifications sent more than ``after_s`` after the restore: when they were
    created and how many tries they took, relative to the restore (the recovery's tail)."""
    conn = await asyncpg.connect(pipeline.settings.postgres_dsn)
    try:
        rows = await conn.fetch(
            "SELECT extract(epoch FROM created_at) - $1 AS created, attempts,"
            " extract(epoch FROM claim_expires_at) - $3 - $1 AS claimed,"
            " extract(epoch FROM sent_at) - $1 AS sent FROM notifications"
            " WHERE sent_at > to_timestamp($1 + $2) ORDER BY sent_at",
            restored_at,
            after_s,
            pipeline.settings.sender.lease_s,
        )
    finally:
        await conn.close()
    if not rows:
        return f"none sent later than {after_s:.0f}s after the restore"
    shown = ", ".join(
        f"created {_rel(r['created'])}/claimed {_rel(r['claimed'])}/{r['attempts']} tries/"
        f"sent {_rel(r['sent'])}"
        for r in rows[:: max(1, len(rows) // 5)]
    )
    return f"{len(rows)} sent later than {after_s:.0f}s after the restore, e.g. {shown}"
