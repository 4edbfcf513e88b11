"""ingest's HTTP conventions on the web layer's endpoint wrapper.

Callers authenticate as on rule-service (same tokens, same key table); only the scope
differs: here the admin token and ingest keys are welcome and a client key is 403, since
a tenant must not inject alerts that other tenants' rules would match. Load-generator
jobs need the admin token (``app.LOADGEN_REQUIRES``).
"""

from __future__ import annotations

import asyncpg

from alerting.web.auth import Authenticator, Scope
from alerting.web.endpoint import Endpoints
from alerting.web.problems import ApiError, unavailable
from alerting.web.request_metrics import LATENCY_BUCKETS, RequestMetrics

METRICS = RequestMetrics.register(
    "ingest",
    latency_help="ingest HTTP request latency (alerts: until Kafka acknowledged them)",
    buckets=(*LATENCY_BUCKETS, 10.0),
)
KEY_STORE_DOWN = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


def key_store_down(exc: Exception) -> ApiError | None:
    """API keys live in Postgres; the admin token does not, and keeps working."""
    if isinstance(exc, KEY_STORE_DOWN):
        return unavailable("cannot check API keys right now")
    return None


def endpoints(auth: Authenticator) -> Endpoints:
    return Endpoints(auth, (Scope.INGEST,), metrics=METRICS, unverifiable=key_store_down)
