"""The sender through a Postgres outage that starts while it delivers (issue 13, item 2):
the receivers were called and the outcome cannot be written. It is written once
Postgres answers again, within the lease, and nothing is delivered twice.

The worker runs in this process over the real store and a real pool whose connections
go through a TCP proxy the test cuts (open connections reset, new ones refused) and
mends: the shared Postgres is never stopped, so parallel sessions are unaffected."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
from prometheus_client import REGISTRY

from alerting.adapters import postgres
from alerting.config import Settings
from alerting.domain.delivery import Attempt, Target
from alerting.domain.delivery_messages import OutgoingNotification
from alerting.domain.delivery_rate import Rate
from alerting.services.sender.repo import PostgresSenderStore
from alerting.services.sender.worker import Worker
from tests.integration.rule_service_support import fresh_database
from tests.integration.sender_support import insert_notification, webhook_rule
from tests.integration.test_sender_pipelining import ready
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration

OUTAGE_S = 2.0


class ReceiverThatOutlivesTheDatabase:
    """Answers 200 to every delivery; the first one takes Postgres away for ``OUTAGE_S``,
    so the batch's outcome write meets the outage (as in the incident)."""

    def __init__(self, link: TcpProxy) -> None:
        self.link = link
        self.calls: list[str] = []
        self.mending: asyncio.Task[None] | None = None

    async def deliver(self, notification: OutgoingNotification, target: Target) -> Attempt:
        self.calls.append(notification.notification_id)
        if self.mending is None:
            await self.link.cut()
            self.mending = asyncio.create_task(self._mend_later())
        return Attempt.sent(200)

    async def _mend_later(self) -> None:
        await asyncio.sleep(OUTAGE_S)
        await self.link.restore()

    def identity(self, endpoint_type: str, value: str, secret: str | None = None) -> str:
        return value

    def default_rate(self, endpoint_type: str) -> Rate | None:
        return None  # the sender's setting


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Settings]:
    async with fresh_database(settings) as own:
        yield own


@pytest.fixture
async def pool(db: Settings) -> AsyncIterator[asyncpg.Pool[Any]]:
    """The test's own view of the database, never cut."""
    own = await postgres.create_pool(db)
    try:
        yield own
    finally:
        await own.close()


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_an_outcome_lost_to_an_outage_is_written_when_postgres_answers(
    db: Settings, pool: asyncpg.Pool[Any]
) -> None:
    rule, _ = await webhook_rule(pool, "acme", "https://hook.example/outage")
    ids = [await insert_notification(pool, "acme", [rule]) for _ in range(3)]
    dsn = urlsplit(db.postgres_dsn)
    async with TcpProxy(dsn.hostname or "127.0.0.1", dsn.port or 5432) as link:
        cut_pool = await postgres.create_pool(
            dataclasses.replace(db, postgres_dsn=link.url(db.postgres_dsn))
        )
        try:
            receiver = ReceiverThatOutlivesTheDatabase(link)
            sender = Worker(
                PostgresSenderStore(cut_pool),
                receiver,
                dataclasses.replace(db.sender, lease_s=10),
                "outage-test:1",
            )
            failures = metric("alerting_sender_outcome_write_failures_total")
            records = [ready(nid, offset) for offset, nid in enumerate(ids)]
            assert await sender.handle_ready(records) == []
            await asyncio.wait_for(sender.drain(), 15)

            assert sorted(receiver.calls) == sorted(ids)  # each receiver called once
            # the write met the outage and was tried again until it landed
            assert metric("alerting_sender_outcome_write_failures_total") > failures
            rows = await pool.fetch(
                "SELECT status, claimed_by, attempts FROM notifications"
                " WHERE notification_id = ANY($1::uuid[])",
                ids,
            )
            assert [tuple(r) for r in rows] == [("SENT", None, 1)] * 3
            delivered = await pool.fetch("SELECT status, attempts FROM deliveries")
            assert [tuple(r) for r in delivered] == [("SENT", 1)] * 3
            # nothing is left for another sender to take over and send again
            other = Worker(PostgresSenderStore(pool), receiver, db.sender, "other:1")
            assert await other.poll_once(10) == 0
            assert len(receiver.calls) == 3
        finally:
            await cut_pool.close()
