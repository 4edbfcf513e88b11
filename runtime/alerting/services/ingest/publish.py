"""Alerts onto ``alerts.new``: one produce call per batch, acknowledged or an error.

The producer connects in the background (the service must start, and say "not ready",
while the broker is down), so every publish first asks whether it is connected. A send
that fails or hangs becomes ``KafkaUnavailable``: the HTTP layer answers 503 with
Retry-After, never 202, and a caller that retries gets the same ids (deduped later).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from prometheus_client import Counter

from alerting import codec
from alerting.adapters.kafka import BatchProducer, OutMessage
from alerting.aio import one_line, retry_until_stopped
from alerting.dependency_log import DependencyLog
from alerting.domain.model import Alert

log = logging.getLogger(__name__)
SEND_TIMEOUT_S = 10.0

ACCEPTED = Counter("alerting_ingest_alerts_accepted_total", "Alerts acknowledged by Kafka", ["via"])
REJECTED = Counter(
    "alerting_ingest_alerts_rejected_total", "Alerts refused or not delivered", ["reason"]
)


class KafkaUnavailable(Exception):
    """The alerts were not (all) acknowledged; the caller should retry later."""


class AlertPublisher:
    def __init__(
        self, producer: BatchProducer, topic: str, timeout_s: float = SEND_TIMEOUT_S
    ) -> None:
        self._producer = producer
        self._topic = topic
        self._timeout_s = timeout_s
        self.connected = False
        self._kafka = DependencyLog(log, "producing alerts (Kafka)")

    async def connect(self, stop: asyncio.Event) -> bool:
        """Start the producer, retrying until the broker answers or ``stop`` is set."""
        self.connected = await retry_until_stopped(self._producer.start, stop, "Kafka producer")
        return self.connected

    async def close(self) -> None:
        self.connected = False
        await self._producer.stop()  # safe when never started

    async def check(self) -> None:
        """Readiness: connected, and the cluster metadata answers."""
        if not self.connected:
            raise RuntimeError("Kafka producer not connected yet")
        await self._producer.check()

    async def publish(self, alerts: Sequence[Alert], via: str) -> None:
        if not self.connected:
            REJECTED.labels("kafka_unavailable").inc(len(alerts))
            raise KafkaUnavailable("Kafka is not reachable yet")
        messages = [
            OutMessage(self._topic, a.alert_id.encode(), codec.encode_alert(a)) for a in alerts
        ]
        began = self._kafka.began()
        try:
            await asyncio.wait_for(self._producer.send_batch(messages), self._timeout_s)
        except Exception as exc:  # whatever failed, these alerts are not acknowledged
            REJECTED.labels("kafka_unavailable").inc(len(alerts))
            self._kafka.failed(exc, began)
            raise KafkaUnavailable(one_line(exc)) from exc
        self._kafka.ok()
        ACCEPTED.labels(via).inc(len(alerts))
