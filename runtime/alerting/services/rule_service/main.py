"""`alerting rule-service`: the REST API and, next to it, the outbox relay.

Shutdown order on SIGTERM: the HTTP server stops taking requests and finishes the ones
in flight, the relay stops (and stops its producer), then the pool closes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from alerting import config
from alerting.adapters.api_key_store import PostgresKeyStore
from alerting.adapters.kafka import BatchProducer
from alerting.adapters.postgres import create_pool, readiness
from alerting.config import Settings
from alerting.domain.urls import system_resolver
from alerting.http import serve
from alerting.runner import run_service
from alerting.services.outbox_relay import OutboxRelay
from alerting.services.rule_service.app import create_app
from alerting.services.rule_service.operation import Deps
from alerting.web.bearer import bearer_authenticator

log = logging.getLogger("alerting.rule_service")
SERVICE = "rule-service"
READS = (
    "ALERTING_ADMIN_TOKEN",
    "ALERTING_HTTP_HOST",
    "ALERTING_RULE_SERVICE_PORT",
    "ALERTING_ALLOW_PRIVATE_URLS",
    *config.POSTGRES_VARS,
    "ALERTING_KAFKA_BOOTSTRAP",
    "ALERTING_KAFKA_SECURITY_PROTOCOL",
    "ALERTING_KAFKA_LINGER_MS",
    "ALERTING_TOPIC_RULE_CHANGED",
    *config.LOG_VARS,
)


async def main(settings: Settings, stop: asyncio.Event) -> None:
    admin_token = settings.require_admin_token()
    pool = await create_pool(settings)
    try:
        # The relay starts the producer itself (waiting for the broker) and stops it.
        producer = BatchProducer(settings.kafka)
        relay = OutboxRelay(pool, producer, settings.topics.rule_changed)
        auth = bearer_authenticator(admin_token, PostgresKeyStore(pool))
        deps = Deps(pool, settings, auth, system_resolver)
        app = create_app(deps, {"postgres": readiness(pool), "outbox_relay": relay.check})
        relay_task = asyncio.create_task(relay.run(stop), name="outbox-relay")
        host, port = settings.http_host, settings.port(SERVICE)
        log.info("rule-service listening on http://%s:%d", host, port)
        try:
            await serve(app, host, port, stop)
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await relay_task
            await producer.stop()  # idempotent; covers a broker never reached before stop
    finally:
        await pool.close()


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = config.describe(READS)


def run(args: argparse.Namespace) -> int:
    del args
    return run_service(SERVICE, main)
