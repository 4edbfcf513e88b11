"""`alerting sender`: notifications.ready and due retries -> email, Slack, webhooks."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import uuid

from alerting import codec, config
from alerting.adapters import postgres
from alerting.adapters.kafka import BatchProducer, ConsumeLoop
from alerting.aio import retry_until_stopped, sleep_unless
from alerting.config import Settings
from alerting.http import health_app, serve
from alerting.runner import run_service
from alerting.services.sender.channels import Channels, UrlGuard, http_client
from alerting.services.sender.smtp import SmtpPool
from alerting.services.sender.worker import Worker

log = logging.getLogger("alerting.sender")
NAME = "sender"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = config.describe(
        (
            *config.KAFKA_VARS,
            "ALERTING_CONSUMER_GROUP",
            "ALERTING_BATCH_SIZE",
            *config.POSTGRES_VARS,
            *config.SMTP_VARS,
            *config.SENDER_VARS,
            "ALERTING_ALLOW_PRIVATE_URLS",
            "ALERTING_HTTP_HOST",
            *config.LOG_VARS,
        )
    )


def instance_id() -> str:
    """Written into ``claimed_by``: which process holds a claim, for operators and leases."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def poll(worker: Worker, batch_size: int, interval_s: float, stop: asyncio.Event) -> None:
    """Due retries, overdue PENDING rows and expired claims; a full batch polls again at once."""
    while not stop.is_set():
        try:
            claimed = await worker.poll_once(batch_size)
        except Exception:
            log.exception("polling for due notifications failed; will retry")
            claimed = 0
        if claimed < batch_size and await sleep_unless(stop, interval_s):
            return


async def main(settings: Settings, stop: asyncio.Event) -> None:
    pool = await postgres.create_pool(settings)
    http = http_client(settings)
    smtp = SmtpPool(settings.smtp, settings.sender.smtp_pool_size, settings.sender.smtp_timeout_s)
    channels = Channels(settings, http, smtp, UrlGuard(settings.allow_private_urls))
    worker = Worker(pool, channels, settings.sender, instance_id())
    producer = BatchProducer(settings.kafka)  # for the dead-letter topic
    loop = ConsumeLoop(
        kafka=settings.kafka,
        topics=[settings.topics.notifications_ready],
        group_id=settings.group_id(NAME),
        decode=codec.decode_notification_ready,
        handle=worker.handle_ready,
        producer=producer,
        service=NAME,
    )
    app = health_app(
        {"postgres": postgres.readiness(pool), "kafka": loop.check, "producer": producer.check}
    )

    async def work() -> None:
        if not await retry_until_stopped(producer.start, stop, "Kafka producer"):
            return
        try:
            await asyncio.gather(
                loop.run(stop),
                poll(
                    worker,
                    settings.kafka.batch_size,
                    settings.sender.poll_interval_ms / 1000,
                    stop,
                ),
            )
        finally:
            await producer.stop()

    log.info("sender %s starting", worker.owner)
    try:
        await asyncio.gather(serve(app, settings.http_host, settings.port(NAME), stop), work())
    finally:
        await http.aclose()
        await smtp.close()
        await pool.close()


def run(args: argparse.Namespace) -> int:
    return run_service(NAME, main)
