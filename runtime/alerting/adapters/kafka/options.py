"""Connection options shared by producer, consumer and admin client."""

from __future__ import annotations

import ssl
from typing import Any

from alerting.config import KafkaSettings


def client_options(kafka: KafkaSettings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap,
        "security_protocol": kafka.security_protocol,
        "request_timeout_ms": 30_000,
    }
    if kafka.security_protocol == "SSL":
        options["ssl_context"] = ssl.create_default_context()
    return options


def consumer_options(
    kafka: KafkaSettings, group_id: str, batch_size: int | None = None
) -> dict[str, Any]:
    """Manual commits only: an offset is committed after the handler's durable effect.

    ``batch_size`` overrides ``ALERTING_BATCH_SIZE`` for one service (the evaluator's
    and the aggregator's have their own settings).

    ``earliest`` is deliberate: a new group must not skip what was produced before it
    joined (and Tansu mis-reports the log end for ``latest``).
    """
    return {
        **client_options(kafka),
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": kafka.session_timeout_ms,
        "heartbeat_interval_ms": kafka.heartbeat_interval_ms,
        "fetch_max_wait_ms": kafka.fetch_max_wait_ms,
        "max_poll_records": batch_size or kafka.batch_size,
        "max_partition_fetch_bytes": 4 * 1024 * 1024,
    }


def producer_options(kafka: KafkaSettings) -> dict[str, Any]:
    """acks=all so an acknowledged message survives a broker loss.

    Idempotence follows ``ALERTING_KAFKA_IDEMPOTENCE``. On (Apache Kafka, MSK) the
    broker drops a batch the producer re-sends after a lost answer, so a producer retry
    cannot write a duplicate. Off (the default) because the Tansu broker the tests and
    ``alerting dev`` run on rejects it; consumers dedupe either way (at-least-once).
    aiokafka refuses idempotence unless acks is all, which it always is here, and keeps
    at most one produce request in flight per broker by design (it has no
    max-in-flight option), so per-partition order survives a retry either way.
    """
    return {
        **client_options(kafka),
        "acks": "all",
        "enable_idempotence": kafka.idempotence,
        "linger_ms": kafka.linger_ms,
        "max_batch_size": 256 * 1024,
        "max_request_size": 4 * 1024 * 1024,
    }
