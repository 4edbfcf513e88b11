"""Kafka offsets the protocol-generic way that is also right on Tansu.

* Highwater marks come from fetch responses: a group-less consumer stays assigned to
  every watched partition and keeps fetching. ``end_offsets()`` (ListOffsets LATEST)
  is not used: Tansu answers it with wrong numbers once producers batch (measured: 1
  for a partition holding 351 messages), while the highwater of a fetch is exact.
  When a fetch returns records behind the highwater, the consumer jumps to the
  highwater: it decodes at most one fetch of backlog per partition, then only what
  arrives between two fetches.
* Committed offsets use ``list_consumer_group_offsets`` with an explicit partition
  list (Tansu answers nothing without one).
* Topics are discovered with ``list_topics`` before anything else touches them: a
  metadata request naming a missing topic makes Tansu create it (measured with
  ``describe_topics``), and a monitor must not create topics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from alerting.adapters.kafka.options import client_options
from alerting.aio import sleep_unless
from alerting.config import KafkaSettings
from alerting.dependency_log import DependencyLog

log = logging.getLogger(__name__)
FETCH_WAIT_MS = 500
# A highwater older than this means the fetches stopped (broker gone): report, not guess.
STALE_AFTER_S = 10.0


class StaleOffsets(Exception):
    """Highwater marks are missing or too old to report."""


class OffsetReader:
    def __init__(self, kafka: KafkaSettings, topics: Sequence[str]) -> None:
        self._kafka = kafka
        self._topics = list(dict.fromkeys(topics))
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._assigned: frozenset[TopicPartition] = frozenset()

    async def start(self) -> None:
        """Connect both clients; raises while the broker is unreachable (call again)."""
        if self._admin is None:
            admin = AIOKafkaAdminClient(**client_options(self._kafka))
            try:
                await admin.start()
            except BaseException:
                await admin.close()
                raise
            self._admin = admin
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                **client_options(self._kafka),
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                fetch_max_wait_ms=FETCH_WAIT_MS,
                check_crcs=False,
            )
            try:
                await consumer.start()
            except BaseException:
                await consumer.stop()
                raise
            self._consumer = consumer

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        if self._admin is not None:
            await self._admin.close()
            self._admin = None

    @property
    def started(self) -> bool:
        return self._admin is not None and self._consumer is not None

    async def check(self) -> None:
        """Readiness: the broker answers a metadata request."""
        if self._admin is None:
            raise RuntimeError("not connected to Kafka yet")
        await self._admin.list_topics()

    async def follow(self, stop: asyncio.Event) -> None:
        """Keep fetching so highwater marks stay fresh; skip whatever was fetched."""
        state = DependencyLog(log, "fetching highwater marks (Kafka)")
        while not stop.is_set():
            consumer = self._consumer
            if consumer is None or not self._assigned:
                await sleep_unless(stop, 0.2)
                continue
            try:
                fetched = await consumer.getmany(timeout_ms=FETCH_WAIT_MS)
            except KafkaError as exc:  # reported through staleness; keep following
                state.failed(exc)
                await sleep_unless(stop, 1.0)
                continue
            state.ok()
            for tp, records in fetched.items():
                highwater = consumer.highwater(tp)
                if highwater is not None and records[-1].offset + 1 < highwater:
                    consumer.seek(tp, highwater)  # skip the backlog instead of decoding it

    async def refresh(self) -> None:
        """Follow the watched topics that exist now (and any partitions added since)."""
        admin, consumer = self._require()
        existing = set(await admin.list_topics())
        present = [t for t in self._topics if t in existing]
        wanted: set[TopicPartition] = set()
        if present:
            for described in await admin.describe_topics(present):
                for part in described["partitions"]:
                    wanted.add(TopicPartition(described["topic"], part["partition"]))
        if wanted != self._assigned:
            consumer.assign(sorted(wanted))
            self._assigned = frozenset(wanted)

    def highwaters(self) -> dict[str, dict[int, int]]:
        """topic -> partition -> highwater, for the topics that exist.

        Raises StaleOffsets when a partition has not been fetched recently: a number
        from before the broker went away would read as "no traffic".
        """
        _, consumer = self._require()
        now_ms = time.time() * 1000
        result: dict[str, dict[int, int]] = {}
        for tp in sorted(self._assigned):
            highwater = consumer.highwater(tp)
            fetched_ms = consumer.last_poll_timestamp(tp)
            if highwater is None or not fetched_ms:
                raise StaleOffsets(f"no highwater yet for {tp.topic}[{tp.partition}]")
            if now_ms - fetched_ms > STALE_AFTER_S * 1000:
                raise StaleOffsets(f"highwater of {tp.topic}[{tp.partition}] is stale")
            result.setdefault(tp.topic, {})[tp.partition] = highwater
        return result

    async def wait_highwaters(self, timeout_s: float) -> dict[str, dict[int, int]]:
        """``highwaters()``, waiting up to ``timeout_s`` for partitions just assigned."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self.highwaters()
            except StaleOffsets:
                if time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(0.05)

    async def committed(
        self, groups: Mapping[str, str], partitions: Mapping[str, Sequence[int]]
    ) -> dict[str, dict[int, int]]:
        """group -> partition -> committed offset, for ``groups`` (group -> its topic).

        Partitions the group never committed are left out (offset -1 from the broker).
        """
        admin, _ = self._require()

        async def one(group: str, topic: str) -> dict[int, int]:
            tps = [TopicPartition(topic, p) for p in partitions.get(topic, ())]
            if not tps:
                return {}
            offsets = await admin.list_consumer_group_offsets(group, partitions=tps)
            return {tp.partition: m.offset for tp, m in offsets.items() if m.offset >= 0}

        results = await asyncio.gather(*(one(g, t) for g, t in groups.items()))
        return dict(zip(groups, results, strict=True))

    def _require(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._consumer is None:
            raise RuntimeError("not connected to Kafka")
        return self._admin, self._consumer
