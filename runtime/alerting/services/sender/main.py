"""`alerting sender`: notifications.ready and due retries -> email, Slack, webhooks."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable

from alerting import codec
from alerting.adapters import postgres
from alerting.adapters.http_post import HttpPoster
from alerting.adapters.kafka import BatchProducer
from alerting.adapters.smtp import SmtpPool
from alerting.adapters.url_guard import UrlGuard
from alerting.aio import sleep_unless
from alerting.config import Settings
from alerting.dependency_log import DependencyLog
from alerting.sealed import Keyring
from alerting.services.entry import service_command
from alerting.services.sender.channels import Channels
from alerting.services.sender.flusher import Flusher
from alerting.services.sender.group_repo import PostgresGroupStore
from alerting.services.sender.repo import PostgresSenderStore
from alerting.services.sender.worker import Worker
from alerting.services.stage import Stage, connect_pool, run_stage

log = logging.getLogger("alerting.sender")
NAME = "sender"


def instance_id() -> str:
    """Written into ``claimed_by``: which process holds a claim, for operators and leases."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def keep_claiming(
    what: str,
    claim_once: Callable[[int], Awaitable[int]],
    batch_size: int,
    interval_s: float,
    stop: asyncio.Event,
) -> None:
    """The poller's loop (due notifications) and the flusher's (due groups): a full
    batch claims again at once, else it waits ``interval_s``. A batch ends within its
    lease, so stopping waits for the one in flight at most that long."""
    postgres = DependencyLog(log, what)
    while not stop.is_set():
        try:
            claimed = await claim_once(batch_size)
        except Exception as exc:  # logged by kind: an outage in a line, a bug in full
            postgres.failed(exc)
            claimed = 0
        else:
            postgres.ok()
        if claimed < batch_size and await sleep_unless(stop, interval_s):
            return


async def main(settings: Settings, stop: asyncio.Event) -> None:
    keyring = Keyring.from_settings(settings)  # ConfigError at start when unset
    pool = await connect_pool(settings, stop, async_commit=True)
    if pool is None:
        return
    http = HttpPoster(
        settings.sender.concurrency, settings.sender.http_timeout_s, settings.allow_private_urls
    )
    smtp = SmtpPool(settings.smtp, settings.sender.smtp_pool_size, settings.sender.smtp_timeout_s)
    channels = Channels(settings, http, smtp, UrlGuard(settings.allow_private_urls))
    store = PostgresSenderStore(pool, keyring)
    worker = Worker(store, channels, settings.sender, instance_id())
    # One owner for both claims: an operator reads one process in claimed_by.
    flusher = Flusher(
        PostgresGroupStore(pool, store), channels, settings.sender, worker.owner,
        pace=worker.pace,
    )  # fmt: skip
    interval_s = settings.sender.poll_interval_ms / 1000

    async def poll_due(stop: asyncio.Event) -> None:
        await keep_claiming(
            "polling for due notifications (Postgres)",
            worker.poll_once, settings.kafka.batch_size, interval_s, stop,
        )  # fmt: skip

    async def flush_groups(stop: asyncio.Event) -> None:
        s = settings.sender
        await keep_claiming(
            "flushing due groups (Postgres)",
            flusher.flush_once,
            s.group_batch,
            s.group_poll_s,
            stop,
        )

    stage = Stage(
        name=NAME,
        topic=settings.topics.notifications_ready,
        decode=codec.decode_notification_ready,
        handle=worker.handle_ready,
        checks={"postgres": postgres.readiness(pool)},
        beside=[poll_due, flush_groups],
    )
    log.info("sender %s starting", worker.owner)
    try:
        # The producer only writes dead letters here.
        await run_stage(settings, stop, BatchProducer(settings.kafka), stage)
    finally:
        await worker.drain()
        await http.close()
        await smtp.close()
        await pool.close()


configure, run = service_command(NAME, main)
