"""Kafka helpers for tests: create topics, read a topic from the start, read commits."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from alerting.adapters.kafka import ensure_topics
from alerting.adapters.kafka.options import client_options
from alerting.config import KafkaSettings, Topics


async def make_topic(kafka: KafkaSettings, topic: str, partitions: int = 1) -> None:
    small = dataclasses.replace(kafka, partitions=partitions)
    await ensure_topics(small, [topic, Topics.dlq(topic)])


async def read_topic(
    kafka: KafkaSettings, topic: str, expected: int, timeout: float = 20.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every message of ``topic`` from the beginning, waiting until ``expected`` arrived."""
    consumer = AIOKafkaConsumer(
        **client_options(kafka),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        deadline = time.monotonic() + timeout
        while not partitions and time.monotonic() < deadline:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
            await asyncio.sleep(0.1)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while len(records) < expected and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
        return records
    finally:
        await consumer.stop()


async def committed_offsets(
    kafka: KafkaSettings, group: str, topic: str, partitions: int = 1
) -> dict[int, int]:
    """Committed offset per partition of ``group`` (absent partitions: none committed)."""
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        offsets = await admin.list_consumer_group_offsets(group, partitions=tps)
        return {tp.partition: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
    finally:
        await admin.close()
