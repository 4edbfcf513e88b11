"""`alerting rule-service`: the REST API and, next to it, the outbox relay, the purge
of deleted clients' notifications, the release of suppressed notifications whose
silence ended and the retention of old notifications.

Shutdown order on SIGTERM: the HTTP server stops taking requests and finishes the ones
in flight, the relay stops (and stops its producer), the purge, the release and the
retention end their batch, then the pool closes.
"""

from __future__ import annotations

import asyncio
import contextlib

from alerting.adapters import redis as redis_adapter
from alerting.adapters.api_key_store import PostgresKeyStore
from alerting.adapters.dns import system_resolver
from alerting.adapters.kafka import BatchProducer
from alerting.adapters.postgres import create_pool, readiness
from alerting.config import Settings
from alerting.services.entry import serve_api, service_command
from alerting.services.rule_service.app import create_app
from alerting.services.rule_service.cursor import Cursors
from alerting.services.rule_service.liveness import Liveness
from alerting.services.rule_service.operation import Deps
from alerting.services.rule_service.outbox_relay import OutboxRelay
from alerting.services.rule_service.purger import ClientPurger
from alerting.services.rule_service.releaser import SilenceReleaser
from alerting.services.rule_service.retention import Retention
from alerting.web.auth_guard import FailedAuthGuard
from alerting.web.bearer import bearer_authenticator

SERVICE = "rule-service"


async def main(settings: Settings, stop: asyncio.Event) -> None:
    admin_token = settings.require_admin_token()
    settings.require_secret_keys()  # endpoint secrets are stored sealed, never in plain text
    pool = await create_pool(settings)
    # Only asked whether changes are live: not a readiness check (a Redis outage makes
    # answers say `live: false`, it does not stop the API).
    redis_client = redis_adapter.create_client(settings)
    try:
        # The relay starts the producer itself (waiting for the broker) and stops it.
        producer = BatchProducer(settings.kafka)
        relay = OutboxRelay(pool, producer, settings.topics.rule_changed)
        auth = bearer_authenticator(
            admin_token, PostgresKeyStore(pool), FailedAuthGuard(settings.auth_throttle)
        )
        liveness = Liveness(redis_client, redis_adapter.keys(settings))
        cursors = Cursors.for_settings(settings)
        deps = Deps(pool, settings, auth, system_resolver, cursors, liveness)
        app = create_app(deps, {"postgres": readiness(pool), "outbox_relay": relay.check})
        relay_task = asyncio.create_task(relay.run(stop), name="outbox-relay")
        purger = ClientPurger(pool, settings.client_purge_batch)
        purge_task = asyncio.create_task(purger.run(stop), name="client-purge")
        releaser = SilenceReleaser(pool, settings.silence_release_interval_s)
        release_task = asyncio.create_task(releaser.run(stop), name="silence-release")
        retention = Retention(pool, settings.retention_days)
        retention_task = asyncio.create_task(retention.run(stop), name="retention")
        try:
            await serve_api(app, settings, SERVICE, stop)
        finally:
            stop.set()
            for task in (relay_task, purge_task, release_task, retention_task):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await producer.stop()  # idempotent; covers a broker never reached before stop
    finally:
        await redis_client.aclose()
        await pool.close()


configure, run = service_command(SERVICE, main)
