"""The consume loop every consuming service runs.

Take a batch, decode it, hand the good records to the service's handler, dead-letter the
rest, and commit only after the handler's effect is durable. Two traps shape it:

* A handler that raises must see the same records again. The consumer's in-memory
  position has already moved past them, so the loop seeks every partition of the batch
  back to its first offset; otherwise the next successful batch would commit past them.
* A message that can never be decoded must not stall its partition forever: it goes to
  ``<topic>.dlq`` with headers saying why and where it came from, and the loop moves on.

``join_group=False`` is for a handler that makes its state equal to the truth whatever
it is given twice (the rule-updater): the consumer takes every partition by hand instead
of joining the group, because a join waits out the broker's rebalance delay (half the
session timeout on Tansu, three seconds on Kafka) and every other member's restart
pauses the group again. It still starts from, and commits, the group's offsets; several
such consumers each read every message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from prometheus_client import Counter, Histogram

from alerting.adapters.kafka.options import consumer_options
from alerting.adapters.kafka.producer import BatchProducer, OutMessage
from alerting.aio import sleep_unless
from alerting.config import KafkaSettings, Topics
from alerting.dependency_log import DependencyLog

T = TypeVar("T")
log = logging.getLogger(__name__)

CONSUMED = Counter("alerting_consumed_messages_total", "Messages taken from Kafka", ["topic"])
PROCESSED = Counter(
    "alerting_processed_messages_total", "Messages handled and committed", ["topic"]
)
DEAD_LETTERED = Counter(
    "alerting_dead_lettered_messages_total", "Messages sent to a .dlq topic", ["topic"]
)
FAILED_BATCHES = Counter(
    "alerting_failed_batches_total", "Batches whose handler raised (redelivered)", ["topic"]
)
BATCH_SECONDS = Histogram(
    "alerting_batch_duration_seconds",
    "Time to decode and handle one batch (its commit overlaps the next batch)",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class Poison(Exception):
    """Raised by a decoder for a message that can never be processed."""


class Record(NamedTuple, Generic[T]):
    """A decoded message and where it came from.

    A NamedTuple because one is built per message: it is the cheapest immutable record
    to construct (a frozen dataclass costs several times as much).
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: T
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class Rejected:
    """A decoded record the handler refuses for good; it is dead-lettered, not retried."""

    record: Record[Any]
    reason: str


Decoder = Callable[[bytes], T]
Batches = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
# Handles one polled batch of decoded records; returns the ones to dead-letter.
BatchHandler = Callable[[list[Record[T]]], Awaitable[Sequence[Rejected] | None]]


def dlq_message(raw: ConsumerRecord[bytes, bytes], error: str, service: str) -> OutMessage:
    return OutMessage(
        topic=Topics.dlq(raw.topic),
        key=raw.key,
        value=raw.value or b"",
        headers=(
            ("error", error.encode()[:1000]),
            ("service", service.encode()),
            ("source_topic", raw.topic.encode()),
            ("source_partition", str(raw.partition).encode()),
            ("source_offset", str(raw.offset).encode()),
        ),
    )


class ConsumeLoop(Generic[T]):
    def __init__(
        self,
        *,
        kafka: KafkaSettings,
        topics: Sequence[str],
        group_id: str,
        decode: Decoder[T],
        handle: BatchHandler[T],
        producer: BatchProducer,
        service: str,
        max_backoff_s: float = 10.0,
        batch_size: int | None = None,
        join_group: bool = True,
    ) -> None:
        self._kafka = kafka
        self._topics = list(topics)
        self._decode = decode
        self._handle = handle
        self._producer = producer
        self._service = service
        self._max_backoff_s = max_backoff_s
        self._join_group = join_group
        subscribed = self._topics if join_group else ()
        self._consumer = AIOKafkaConsumer(
            *subscribed, **consumer_options(kafka, group_id, batch_size)
        )
        self._committing: asyncio.Task[None] | None = None
        self._consumer_started = False
        self.started = False
        # A failed batch is rewound and handled again: during an outage, once a backoff.
        self._handling = DependencyLog(log, f"handling batches from {', '.join(topics)}")
        self._connecting = DependencyLog(log, "Kafka (consumer start)")

    async def start(self, stop: asyncio.Event) -> bool:
        """Connect, retrying while the broker is unreachable; False if stopped first."""
        delay = 0.5
        while not stop.is_set():
            try:
                if not self._consumer_started:
                    await self._consumer.start()
                    self._consumer_started = True
                if not self._join_group:
                    await self._assign_every_partition()
                self._connecting.ok()
                self.started = True
                return True
            except KafkaError as exc:
                self._connecting.failed(exc)
                await sleep_unless(stop, delay)
                delay = min(delay * 2, self._max_backoff_s)
        return False

    async def _assign_every_partition(self) -> None:
        await self._consumer.topics()  # fresh metadata: a topic created just now is known
        partitions = []
        for topic in self._topics:
            numbers = self._consumer.partitions_for_topic(topic)
            if not numbers:
                raise KafkaError(f"topic {topic} has no partitions yet")
            partitions += [TopicPartition(topic, n) for n in sorted(numbers)]
        # Positions come from the group's commits (none: auto_offset_reset), never from
        # the log end: Tansu reports a partition's end as its last batch's first offset.
        self._consumer.assign(partitions)

    async def stop(self) -> None:
        if self._consumer_started:
            await self._consumer.stop()
            self._consumer_started = self.started = False

    async def check(self) -> None:
        """Readiness: started and the broker answers."""
        if not self.started:
            raise RuntimeError("consumer not started")
        await self._consumer._client.fetch_all_metadata()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set. The in-flight batch is finished and committed."""
        if not self.started and not await self.start(stop):
            return
        backoff = 0.2
        try:
            while not stop.is_set():
                batches = await self._consumer.getmany(timeout_ms=500)
                if not any(batches.values()):
                    continue
                if await self._process(batches):
                    backoff = 0.2
                else:
                    await sleep_unless(stop, backoff)
                    backoff = min(backoff * 2, self._max_backoff_s)
        finally:
            try:
                await self._settle_commit()
            finally:
                await self.stop()

    async def _process(self, batches: Batches) -> bool:
        """Handle one batch; True when committed, False when it must be redelivered."""
        started = time.perf_counter()
        raws = [r for records in batches.values() for r in records]
        topic = raws[0].topic
        CONSUMED.labels(topic).inc(len(raws))
        good: list[Record[T]] = []
        dead: list[OutMessage] = []
        for raw in raws:
            try:
                value = self._decode(raw.value or b"")
            except Exception as exc:  # any decoding failure makes the message poison
                dead.append(dlq_message(raw, f"{type(exc).__name__}: {exc}", self._service))
                continue
            good.append(Record(raw.topic, raw.partition, raw.offset, raw.key, value, raw.timestamp))
        try:
            rejected = (await self._handle(good) if good else None) or ()
            if rejected:
                by_position = {(r.topic, r.partition, r.offset): r for r in raws}
                for rej in rejected:
                    rec = rej.record
                    raw = by_position[(rec.topic, rec.partition, rec.offset)]
                    dead.append(dlq_message(raw, rej.reason, self._service))
            await self._producer.send_batch(dead)
        except Exception as exc:  # redelivered: an outage in a line, a bug in full
            FAILED_BATCHES.labels(topic).inc()
            self._handling.failed(exc)
            self._rewind(batches)
            return False
        self._handling.ok()
        if dead:
            DEAD_LETTERED.labels(topic).inc(len(dead))
            log.warning("dead-lettered %d message(s) from %s", len(dead), topic)
        # The commit's round trip overlaps fetching and handling the next batch; commits
        # still go out one at a time, in order, and the last one is awaited on stop.
        await self._settle_commit()
        # Each partition's records come in offset order: its last one is its position.
        offsets = {tp: records[-1].offset + 1 for tp, records in batches.items() if records}
        self._committing = asyncio.create_task(self._commit(offsets))
        PROCESSED.labels(topic).inc(len(raws) - len(dead))
        BATCH_SECONDS.observe(time.perf_counter() - started)
        return True

    def _rewind(self, batches: Batches) -> None:
        assigned = self._consumer.assignment()
        for tp, records in batches.items():
            if records and tp in assigned:  # a revoked one is re-read by its new owner
                self._consumer.seek(tp, records[0].offset)

    async def _settle_commit(self) -> None:
        """Wait for the previous batch's commit; its failure surfaces here."""
        committing, self._committing = self._committing, None
        if committing is not None:
            await committing

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        try:
            await self._consumer.commit(offsets)
        except CommitFailedError as exc:
            # The group rebalanced under us: the new owner re-reads from the last commit.
            # Duplicates are expected and absorbed downstream (at-least-once).
            log.warning("commit failed after rebalance (%s); batch will be redelivered", exc)
