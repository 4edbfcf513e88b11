"""Topic creation: idempotent, so `alerting topics` can run on every deploy."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from alerting.adapters.kafka.options import client_options
from alerting.config import KafkaSettings

log = logging.getLogger(__name__)


async def ensure_topics(kafka: KafkaSettings, topics: Iterable[str]) -> list[str]:
    """Create the missing topics; return the names created (existing ones are left alone)."""
    wanted = list(dict.fromkeys(topics))
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        created: list[str] = []
        for topic in missing:
            # One request per topic: a concurrent creator makes one fail, not the batch.
            try:
                await admin.create_topics(
                    [NewTopic(topic, kafka.partitions, kafka.replication_factor)]
                )
                created.append(topic)
            except TopicAlreadyExistsError:
                log.info("topic %s was created concurrently", topic)
        return created
    finally:
        await admin.close()
