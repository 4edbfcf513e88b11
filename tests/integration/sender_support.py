"""Shared by the sender tests: in-process sinks, a real sender process, SQL seeding.

Not a test module: ``test_sender*.py`` import from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from alerting import codec
from alerting.adapters import postgres
from alerting.adapters.kafka import OutMessage
from alerting.config import Settings
from alerting.dev.hook_server import serve_hooks
from alerting.dev.sinks import Recorder, start_smtp
from alerting.domain.model import NotificationReady
from alerting.services.sender.repo import PostgresSenderStore
from tests.integration.rule_service_support import (
    Api,
    database_of_its_own,
    fresh_database,
    start_service,
    wait_healthy,
)
from tests.pipeline_support import create_topics, eventually, isolated_env, produce
from tests.ports import free_port
from tests.processes import ServiceProcess


@dataclass
class Sinks:
    recorder: Recorder
    http_url: str
    smtp_port: int

    def hook(self, name: str) -> str:
        return f"{self.http_url}/hooks/{name}"

    def requests(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.recorder.requests if r["name"] == name]

    def script(self, name: str, *statuses: int) -> None:
        self.recorder.script(name, list(statuses))


@contextlib.asynccontextmanager
async def running_sinks() -> AsyncIterator[Sinks]:
    """The dev sinks, served by this test process's own event loop."""
    recorder = Recorder()
    http_port, smtp_port = free_port(), free_port()
    smtp = await start_smtp(recorder, "127.0.0.1", smtp_port)
    stop = asyncio.Event()
    task = asyncio.create_task(serve_hooks(recorder, "127.0.0.1", http_port, stop))
    url = f"http://127.0.0.1:{http_port}"
    try:
        await wait_healthy(url, task)
        yield Sinks(recorder, url, smtp_port)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        smtp.close()
        await smtp.wait_closed()


@dataclass
class Sender:
    settings: Settings  # the test's own database and topics
    pool: asyncpg.Pool[Any]
    process: ServiceProcess

    async def metric(self, name: str) -> float:
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"{self.process.url}/metrics")).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(name) and not line.startswith("#")
        )


@contextlib.asynccontextmanager
async def running_sender(
    base_env: dict[str, str], settings: Settings, sinks: Sinks, log_dir: Path, **extra: str
) -> AsyncIterator[Sender]:
    """A real `alerting sender` on its own database, topics and consumer group, with
    short backoff and lease so retries happen in fractions of a second."""
    unique = uuid.uuid4().hex[:10]
    async with fresh_database(settings) as db:
        env = isolated_env(
            base_env,
            unique,
            ALERTING_POSTGRES_DSN=db.postgres_dsn,
            ALERTING_CONSUMER_GROUP=f"sender-{unique}",
            ALERTING_SMTP_HOST="127.0.0.1",
            ALERTING_SMTP_PORT=str(sinks.smtp_port),
            ALERTING_SENDER_BACKOFF_BASE_MS="100",
            ALERTING_SENDER_BACKOFF_MAX_MS="400",
            ALERTING_SENDER_LEASE_S="5",
            ALERTING_SENDER_POLL_INTERVAL_MS="100",
            ALERTING_SENDER_MAX_ATTEMPTS="5",
            **extra,
        )
        own = await create_topics(env)
        pool = await postgres.create_pool(own)
        try:
            with ServiceProcess("sender", env, log_dir) as proc:
                await asyncio.to_thread(proc.start)
                yield Sender(own, pool, proc)
        finally:
            await pool.close()


async def seed_rule(pool: asyncpg.Pool[Any], client_id: str) -> str:
    rule_id = str(uuid.uuid4())
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO clients (client_id, name) VALUES ($1, 'T') ON CONFLICT DO NOTHING",
            client_id,
        )
        await conn.execute(
            "INSERT INTO rules (rule_id, client_id, severity, source, name)"
            " VALUES ($1, $2, 'HIGH', 'payments', $3)",
            rule_id, client_id, f"n-{rule_id}",
        )  # fmt: skip
    return rule_id


async def add_endpoint(
    pool: asyncpg.Pool[Any], rule_id: str, kind: str, value: str, send_resolved: bool = True
) -> str:
    """Insert an endpoint; return its signing secret (webhooks) or its id."""
    endpoint_id = uuid.uuid4()
    secret = secrets.token_hex(16) if kind == "webhook" else None
    await pool.execute(
        "INSERT INTO endpoints (endpoint_id, rule_id, type, value, signing_secret,"
        " send_resolved) VALUES ($1, $2, $3, $4, $5, $6)",
        endpoint_id, uuid.UUID(rule_id), kind, value, secret, send_resolved,
    )  # fmt: skip
    return secret or str(endpoint_id)


async def insert_notification(
    pool: asyncpg.Pool[Any],
    client_id: str,
    rule_ids: list[str],
    due_in_s: float = 30,
    **columns: Any,
) -> str:
    """A notification as the aggregator writes it: PENDING, due only in 30 s (so a quick
    delivery proves the ready message was used). ``columns`` override, e.g. a claim."""
    notification_id = str(uuid.uuid4())
    values: dict[str, Any] = {
        "notification_id": notification_id,
        "client_id": client_id,
        "alert_id": f"a-{notification_id}",
        "severity": "HIGH",
        "source": "payments",
        "name": "checkout_errors",
        "context": {"region": "eu"},  # the pool encodes jsonb
        "rule_ids": [uuid.UUID(r) for r in rule_ids],
        **columns,
    }
    names = ", ".join(values)
    params = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    await pool.execute(
        f"INSERT INTO notifications ({names}, event_ts, next_attempt_at)"
        f" VALUES ({params}, to_timestamp(1700000000),"
        f" now() + make_interval(secs => ${len(values) + 1}))",
        *values.values(),
        due_in_s,
    )
    return notification_id


async def insert_resolved(
    pool: asyncpg.Pool[Any], firing_id: str, due_in_s: float = 300, **columns: Any
) -> str:
    """The resolved notification of ``firing_id``'s episode, as the aggregator writes
    it: same client, alert, episode and rule_ids, ``firing_id`` naming the firing row.
    Due in 5 minutes by default: the aggregator's safety net while the firing one is
    still being delivered (its FINISH wakes the resolved one)."""
    firing = await pool.fetchrow(
        "SELECT client_id, alert_id, episode, rule_ids FROM notifications"
        " WHERE notification_id = $1",
        uuid.UUID(firing_id),
    )
    assert firing is not None
    columns = {"name": "checkout_errors_resolved", **columns}
    return await insert_notification(
        pool, firing["client_id"], [str(r) for r in firing["rule_ids"]], due_in_s,
        alert_id=firing["alert_id"], episode=firing["episode"], kind="resolved",
        firing_id=uuid.UUID(firing_id), **columns,
    )  # fmt: skip


async def webhook_rule(pool: asyncpg.Pool[Any], client_id: str, url: str) -> tuple[str, str]:
    """A rule of ``client_id`` with one webhook endpoint; (rule_id, signing secret)."""
    rule = await seed_rule(pool, client_id)
    return rule, await add_endpoint(pool, rule, "webhook", url)


async def insert_expired_claim(
    pool: asyncpg.Pool[Any], client_id: str, rule_id: str, attempts: int
) -> str:
    """A notification a sender claimed and then died on: SENDING, lease run out."""
    return await insert_notification(
        pool, client_id, [rule_id],
        status="SENDING", attempts=attempts, claimed_by="dead:1:x",
        claim_expires_at=datetime.now(UTC) - timedelta(minutes=1),
    )  # fmt: skip


def ready_message(settings: Settings, notification_id: str, client_id: str) -> OutMessage:
    event = NotificationReady(notification_id, client_id, f"a-{notification_id}")
    return OutMessage(
        settings.topics.notifications_ready,
        client_id.encode(),
        codec.encode_notification_ready(event),
    )


async def announce(settings: Settings, notification_id: str, client_id: str) -> None:
    await produce(settings, [ready_message(settings, notification_id, client_id)])


async def notification(pool: asyncpg.Pool[Any], notification_id: str) -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT status, attempts, last_error, claimed_by, sent_at"
        " FROM notifications WHERE notification_id = $1",
        uuid.UUID(notification_id),
    )
    assert row is not None
    return row


async def reaches(
    pool: asyncpg.Pool[Any], notification_id: str, status: str, timeout: float = 30.0
) -> asyncpg.Record:
    """Wait until the notification has ``status``; return its row."""

    async def check() -> asyncpg.Record | None:
        row = await notification(pool, notification_id)
        return row if row["status"] == status else None

    result: asyncpg.Record = await eventually(check, timeout, f"{notification_id} {status}")
    return result


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool[Any]]:
    """A fresh, migrated database of the test's own, as a pool: the stores' tests."""
    async with database_of_its_own(settings) as own:
        yield own


@pytest.fixture
def store(pool: asyncpg.Pool[Any]) -> PostgresSenderStore:
    """The sender's store over ``pool``."""
    return PostgresSenderStore(pool)


@pytest.fixture(scope="module")
async def sinks() -> AsyncIterator[Sinks]:
    """One set of local sinks per test module (import it into the module)."""
    async with running_sinks() as running:
        yield running


@pytest.fixture(scope="module")
async def sender(
    request: pytest.FixtureRequest,
    base_env: dict[str, str],
    settings: Settings,
    sinks: Sinks,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Sender]:
    """One sender per test module, on the session's settings, delivering to ``sinks``;
    a module's ``SENDER_ENV`` (a dict) adds or overrides its settings."""
    log_dir = tmp_path_factory.mktemp("sender")
    extra: dict[str, str] = getattr(request.module, "SENDER_ENV", {})
    async with running_sender(base_env, settings, sinks, log_dir, **extra) as running:
        yield running


@pytest.fixture(scope="module")
async def sender_api(sender: Sender) -> AsyncIterator[Api]:
    """The rule-service API on the sender's database, as the admin."""
    service = await start_service(sender.settings, sender.pool)
    try:
        yield Api(service.base_url, sender.settings.require_admin_token())
    finally:
        await service.close()
