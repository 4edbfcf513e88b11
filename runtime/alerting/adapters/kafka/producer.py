"""A producer that sends a whole batch and waits for every acknowledgement once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer

from alerting.adapters.kafka.options import producer_options
from alerting.config import KafkaSettings


@dataclass(frozen=True, slots=True)
class OutMessage:
    topic: str
    key: bytes | None
    value: bytes
    headers: Sequence[tuple[str, bytes]] = field(default_factory=tuple)


class BatchProducer:
    def __init__(self, kafka: KafkaSettings) -> None:
        self._producer = AIOKafkaProducer(**producer_options(kafka))

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send_batch(self, messages: Sequence[OutMessage]) -> None:
        """Return only when every message is acknowledged (acks=all); raise if any failed.

        ``send`` only enqueues; gathering the delivery futures once lets the client pack
        the batch into few requests instead of one round trip per message.
        """
        if not messages:
            return
        futures = [
            await self._producer.send(m.topic, m.value, key=m.key, headers=list(m.headers))
            for m in messages
        ]
        await asyncio.gather(*futures)

    async def check(self) -> None:
        """Readiness: the cluster metadata answers."""
        await self._producer.client.fetch_all_metadata()
