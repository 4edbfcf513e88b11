"""`alerting ingest`: alerts (native, Prometheus, Alertmanager) and load-generator jobs ->
`alerts.new`.

Starts serving at once and connects to Kafka in the background: until the producer is
connected /readyz answers 503 and posts answer 503 with Retry-After. On SIGTERM the
server finishes in-flight requests, jobs are cancelled, then the producer and pool stop.
"""

from __future__ import annotations

import asyncio

from alerting.adapters import api_key_store
from alerting.adapters.kafka import BatchProducer
from alerting.adapters.postgres import create_pool
from alerting.config import Settings
from alerting.services.entry import serve_api, service_command
from alerting.services.ingest.app import Ingest, create_app
from alerting.services.ingest.jobs import JobManager
from alerting.services.ingest.publish import AlertPublisher
from alerting.services.ingest.rate import KeyRateLimit
from alerting.web.auth_guard import FailedAuthGuard
from alerting.web.bearer import bearer_authenticator
from alerting.web.key_cache import CachedKeyStore

SERVICE = "ingest"


async def main(settings: Settings, stop: asyncio.Event) -> None:
    admin_token = settings.require_admin_token()
    # API keys are looked up in Postgres; min_size=0 lets ingest start (and take the
    # admin token) while the database is still coming up.
    pool = await create_pool(settings, min_size=0)
    # Alert intake must not stop with Postgres: verified keys are cached, asked for
    # again every refresh interval and used for up to the maximum staleness when
    # Postgres cannot answer (docs/ingest.md, "Keys during a Postgres outage").
    keys = CachedKeyStore(
        api_key_store.PostgresKeyStore(pool),
        refresh_s=settings.api_key_refresh_s,
        max_stale_s=settings.api_key_max_stale_s,
        unavailable=api_key_store.UNAVAILABLE,
    )
    publisher = AlertPublisher(BatchProducer(settings.kafka), settings.topics.alerts_new)
    jobs = JobManager(publisher.publish)
    app = create_app(
        Ingest(publisher, jobs, KeyRateLimit.for_settings(settings.quotas)),
        bearer_authenticator(admin_token, keys, FailedAuthGuard(settings.auth_throttle)),
        # Ready means "can accept alerts": the producer. Postgres is not a readiness
        # dependency: the admin token and cached keys keep working through its outage,
        # and a 503 from /readyz would take ingest out of its load balancer for nothing.
        {"kafka": publisher.check},
        settings.cors_origins,
    )
    try:
        await asyncio.gather(serve_api(app, settings, SERVICE, stop), publisher.connect(stop))
    finally:
        stop.set()
        await jobs.close()
        await publisher.close()
        await pool.close()


configure, run = service_command(SERVICE, main)
