"""Webhooks to a receiver on Python's ``http.server`` defaults arrive exactly once.

Such a receiver speaks HTTP/1.0 (no Content-Length on its answer, one connection per
request) and listens with a backlog of 5. Issue 13 item 3 saw 6 of 600 webhooks
delivered twice to one, with no fault. The cause: the sender's burst of new connections
overflows that listen queue, the kernel drops handshakes and requests and retries them
after 1-3 s, some requests time out, and each timed-out request the kernel was still
sending after the sender gave up reached the receiver seconds later, besides its retry.

This drives the real worker (store, channels, HTTP client) over 1,000 notifications,
five times, and counts what the receiver saw per Idempotency-Key. The HTTP timeout is
2 s rather than the default 10 s, so the overflow leads to timeouts in every run
instead of in one run out of several: before the fix, a run had 6-14 duplicates.

It runs alone (marker ``alone``: after the parallel suite, in one process). The receiver
shares this process and the box with the worker; starved of CPU by other test workers
it answers after the 2 s timeout, and the sender then rightly sends again (at least
once): duplicates that say nothing about the code under test.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
from alerting.services.sender.worker import Worker
from tests.integration.rule_service_support import fresh_database
from tests.integration.sender_support import webhook_rule

pytestmark = [pytest.mark.integration, pytest.mark.alone]

RUNS = 5
WEBHOOKS_PER_RUN = 1_000
READY_BATCH = 100  # records per handle_ready call, as a consume loop hands them over


class Http10Receiver:
    """``ThreadingHTTPServer`` with ``BaseHTTPRequestHandler`` defaults, on a thread.

    The handler reads the body (a receiver checks the signature over it), counts the
    request by its Idempotency-Key and answers 200 with a short body and no
    Content-Length, as ``http.server`` examples do.
    """

    def __init__(self) -> None:
        self.seen: collections.Counter[str] = collections.Counter()
        lock = threading.Lock()
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    seen[self.headers["Idempotency-Key"]] += 1
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok\n")

            def log_message(self, format: str, *args: Any) -> None:
                pass  # 5,000 access-log lines on stderr help no one

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def duplicates(self) -> dict[str, int]:
        return {key: n for key, n in self.seen.items() if n > 1}


@pytest.fixture
def http10_receiver() -> Iterator[Http10Receiver]:
    receiver = Http10Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join(10)


async def insert_many(pool: asyncpg.Pool[Any], rule_id: str, n: int) -> list[str]:
    """``n`` PENDING notifications of ``acme`` for ``rule_id``, in one statement."""
    ids = [uuid.uuid4() for _ in range(n)]
    await pool.execute(
        "INSERT INTO notifications (notification_id, client_id, alert_id, severity, source,"
        " name, context, rule_ids, event_ts, next_attempt_at)"
        " SELECT id, 'acme', 'a-' || id::text, 'HIGH', 'payments', 'checkout_errors',"
        " jsonb_build_object('region', 'eu'), ARRAY[$2::uuid], to_timestamp(1700000000),"
        " now() + interval '30 seconds' FROM unnest($1::uuid[]) AS id",
        ids,
        uuid.UUID(rule_id),
    )
    return [str(i) for i in ids]


def ready(ids: list[str], first_offset: int) -> list[Record[NotificationReady]]:
    return [
        Record("nr", 0, first_offset + i, b"acme", NotificationReady(n, "acme", f"a-{n}"), 0)
        for i, n in enumerate(ids)
    ]


async def statuses(pool: asyncpg.Pool[Any], ids: list[str]) -> collections.Counter[str]:
    rows = await pool.fetch(
        "SELECT status FROM notifications WHERE notification_id = ANY($1::uuid[])",
        [uuid.UUID(i) for i in ids],
    )
    return collections.Counter(r["status"] for r in rows)


async def test_an_http10_receiver_gets_each_webhook_once(
    settings: Settings, http10_receiver: Http10Receiver
) -> None:
    async with fresh_database(settings) as db:
        # Retries come quickly (so a wrong one shows within the test), the rate limit
        # is out of the way (1,000 requests go out as fast as the pool allows) and the
        # timeout is short (see the module's docstring).
        sender = dataclasses.replace(
            db.sender,
            backoff_base_ms=100,
            backoff_max_ms=400,
            rate_per_s=1_000_000,
            rate_burst=1_000_000,
            http_timeout_s=2,
        )
        pool = await postgres.create_pool(db)
        http = HttpPoster(sender.concurrency, float(sender.http_timeout_s), allow_private=True)
        smtp = SmtpPool(db.smtp, 1, 5.0)
        worker = Worker(
            PostgresSenderStore(pool),
            Channels(db, http, smtp, UrlGuard(True)),
            sender,
            "test:1",
        )
        try:
            rule, _ = await webhook_rule(pool, "acme", http10_receiver.url)
            for run in range(RUNS):
                started = time.monotonic()
                ids = await insert_many(pool, rule, WEBHOOKS_PER_RUN)
                for at in range(0, len(ids), READY_BATCH):
                    await worker.handle_ready(ready(ids[at : at + READY_BATCH], at))
                await worker.drain()
                # Anything retried is delivered by the poller, as in the service.
                deadline = time.monotonic() + 20
                while (await statuses(pool, ids))["SENT"] < len(ids):
                    assert time.monotonic() < deadline, await statuses(pool, ids)
                    if not await worker.poll_once(500):
                        await asyncio.sleep(0.1)
                print(f"run {run}: {len(ids)} webhooks in {time.monotonic() - started:.1f} s")

                assert http10_receiver.duplicates() == {}, f"run {run}"
                assert all(http10_receiver.seen[i] == 1 for i in ids), f"run {run}"
                assert await statuses(pool, ids) == {"SENT": len(ids)}
        finally:
            with contextlib.suppress(Exception):
                await worker.drain()
            await http.close()
            await smtp.close()
            await pool.close()
