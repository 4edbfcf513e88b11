"""Ready batches overlap: the next one is claimed while an earlier one's requests are in
flight, at most two deliver at once, and shutdown waits for them."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from alerting.adapters import postgres
from alerting.adapters.http_post import HttpPoster
from alerting.adapters.kafka import Record
from alerting.adapters.smtp import SmtpPool
from alerting.adapters.url_guard import UrlGuard
from alerting.config import Settings
from alerting.domain.model import NotificationReady
from alerting.services.sender.channels import Channels
from alerting.services.sender.repo import PostgresSenderStore
from alerting.services.sender.worker import READY_BATCHES_IN_FLIGHT, Worker
from tests.integration.rule_service_support import fresh_database
from tests.integration.sender_support import insert_notification, webhook_rule
from tests.integration.test_sender_crash import HangingReceiver, receiver  # noqa: F401

pytestmark = pytest.mark.integration


def ready(notification_id: str, offset: int) -> Record[NotificationReady]:
    event = NotificationReady(notification_id, "acme", f"a-{notification_id}")
    return Record("nr", 0, offset, b"acme", event, 0)


async def status(pool: asyncpg.Pool[Any], notification_id: str) -> str:
    found: str = await pool.fetchval(
        "SELECT status FROM notifications WHERE notification_id = $1::uuid", notification_id
    )
    return found


async def test_the_next_ready_batch_is_claimed_while_one_delivers(
    settings: Settings,
    receiver: HangingReceiver,  # noqa: F811
) -> None:
    assert READY_BATCHES_IN_FLIGHT == 2
    async with fresh_database(settings) as db:
        pool = await postgres.create_pool(db)
        http = HttpPoster(8, 10.0, allow_private=True)
        smtp = SmtpPool(db.smtp, 1, 5.0)
        channels = Channels(db, http, smtp, UrlGuard(True))
        worker = Worker(PostgresSenderStore(pool), channels, db.sender, "test:1")
        try:
            rule, _ = await webhook_rule(pool, "acme", f"{receiver.url}/hook")
            ids = [await insert_notification(pool, "acme", [rule]) for _ in range(3)]

            # Each returns once its row is claimed, though the receiver answers nothing.
            await asyncio.wait_for(worker.handle_ready([ready(ids[0], 0)]), 10)
            await asyncio.wait_for(worker.handle_ready([ready(ids[1], 1)]), 10)
            assert [await status(pool, i) for i in ids[:2]] == ["SENDING", "SENDING"]

            third = asyncio.create_task(worker.handle_ready([ready(ids[2], 2)]))
            await asyncio.sleep(0.5)
            assert not third.done(), "a third batch waits for a delivering one to finish"
            assert await status(pool, ids[2]) == "PENDING"

            receiver.released.set()
            await asyncio.wait_for(third, 10)
            await asyncio.wait_for(worker.drain(), 10)
            assert [await status(pool, i) for i in ids] == ["SENT"] * 3
            assert len(receiver.keys) == 3
        finally:
            receiver.released.set()
            await worker.drain()
            await http.close()
            await smtp.close()
            await pool.close()
