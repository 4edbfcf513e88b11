"""A producer that sends a whole batch and waits for every acknowledgement once."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from typing import NamedTuple

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder

from alerting.adapters.kafka.options import producer_options
from alerting.config import KafkaSettings

# Keys (client ids) repeat: their partition is computed once (murmur2 is pure Python).
PARTITION_CACHE_SIZE = 100_000


class OutMessage(NamedTuple):
    """A NamedTuple, like ``Record``: one is built per message on the hot path."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Sequence[tuple[str, bytes]] = ()


class BatchProducer:
    def __init__(self, kafka: KafkaSettings) -> None:
        self._producer = AIOKafkaProducer(**producer_options(kafka))
        self._partitioner = DefaultPartitioner()
        # (topic, partition count) -> key -> partition
        self._partition_of: dict[tuple[str, int], dict[bytes, int]] = {}

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send_batch(self, messages: Sequence[OutMessage]) -> None:
        """Return only when every message is acknowledged (acks=all); raise if any failed.

        Messages are packed into one record batch per partition here, and each batch is
        closed before it is queued, so it goes out at once instead of after ``linger_ms``
        (the caller waits for the acknowledgements anyway), and no message costs a
        future and a metadata look-up as aiokafka's ``send`` does. Partitions are the
        client's default (murmur2 of the key), so a key lands where ``send`` would put it.
        """
        if not messages:
            return
        open_batches: dict[tuple[str, int], BatchBuilder] = {}
        acks: list[asyncio.Future[object]] = []
        partitioners: dict[str, Callable[[bytes | None], int]] = {}
        for m in messages:
            partition_of = partitioners.get(m.topic)
            if partition_of is None:
                partition_of = partitioners[m.topic] = await self._partitioner_for(m.topic)
            target = (m.topic, partition_of(m.key))
            builder = open_batches.get(target)
            if builder is None or not _append(builder, m):
                if builder is not None:  # full: send it, start the next one
                    acks.append(await self._submit(builder, target))
                builder = open_batches[target] = self._producer.create_batch()
                if not _append(builder, m):
                    raise ValueError(f"a message of {len(m.value)} bytes does not fit a batch")
        for target, builder in open_batches.items():
            acks.append(await self._submit(builder, target))
        await asyncio.gather(*acks)

    async def _submit(
        self, builder: BatchBuilder, target: tuple[str, int]
    ) -> asyncio.Future[object]:
        builder.close()  # a closed batch is ready: no linger
        future: asyncio.Future[object] = await self._producer.send_batch(
            builder, target[0], partition=target[1]
        )
        return future

    async def _partitioner_for(self, topic: str) -> Callable[[bytes | None], int]:
        """The topic's key -> partition function for one batch, as ``send`` would pick."""
        partitions: list[int] = sorted(await self._producer.partitions_for(topic))
        cache = self._partition_of.setdefault((topic, len(partitions)), {})

        def partition_of(key: bytes | None) -> int:
            if key is None:
                return random.choice(partitions)
            found = cache.get(key)
            if found is None:
                if len(cache) >= PARTITION_CACHE_SIZE:
                    cache.clear()
                found = cache[key] = self._partitioner(key, partitions, partitions)
            return found

        return partition_of

    async def check(self) -> None:
        """Readiness: the cluster metadata answers."""
        await self._producer.client.fetch_all_metadata()


_NO_HEADERS: list[tuple[str, bytes]] = []  # only read by the builder, which wants a list


def _append(builder: BatchBuilder, m: OutMessage) -> bool:
    """False when the batch is full (or closed)."""
    headers = list(m.headers) if m.headers else _NO_HEADERS
    added = builder.append(timestamp=None, key=m.key, value=m.value, headers=headers)
    return added is not None
