"""The consume loop against a real broker: commit only after the handler, poison to DLQ."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

import pytest
from aiokafka import AIOKafkaProducer

from alerting.adapters.kafka import BatchProducer, ConsumeLoop, OutMessage, Record
from alerting.adapters.kafka.consumer import BatchHandler, Rejected
from alerting.adapters.kafka.options import producer_options
from alerting.config import Settings, Topics
from tests.kafka_helpers import committed_offsets, make_topic, read_topic

pytestmark = pytest.mark.integration


@pytest.fixture
async def producer(settings: Settings) -> AsyncIterator[BatchProducer]:
    p = BatchProducer(settings.kafka)
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


def decode_int(data: bytes) -> int:
    return int(data)  # raises ValueError for anything that is not a number


async def wait_until(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def commit_reached(
    settings: Settings, group: str, topic: str, offset: int, timeout: float = 20.0
) -> dict[int, int]:
    """Poll the group's commit until partition 0 reaches ``offset``; return what was seen."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        commits = await committed_offsets(settings.kafka, group, topic)
        if commits.get(0, -1) >= offset or asyncio.get_running_loop().time() > deadline:
            return commits
        await asyncio.sleep(0.1)


async def one_partition_topic(settings: Settings, name: str, unique: str) -> tuple[str, str]:
    """A fresh topic ``<name>-<unique>`` with one partition (so offsets are totally
    ordered) and a consumer group of its own; returns both names."""
    topic, group = f"{name}-{unique}", f"g-{unique}"
    await make_topic(settings.kafka, topic)
    return topic, group


@contextlib.asynccontextmanager
async def running_loop(
    settings: Settings,
    producer: BatchProducer,
    topic: str,
    group: str,
    handle: BatchHandler[int],
    service: str,
) -> AsyncIterator[None]:
    """A ConsumeLoop of ints on ``topic`` running for the duration of the block."""
    loop = ConsumeLoop(
        kafka=settings.kafka,
        topics=[topic],
        group_id=group,
        decode=decode_int,
        handle=handle,
        producer=producer,
        service=service,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def test_failed_handler_leaves_batch_uncommitted_and_it_is_redelivered(
    settings: Settings, producer: BatchProducer, unique: str
) -> None:
    topic, group = await one_partition_topic(settings, "loop", unique)
    await producer.send_batch([OutMessage(topic, None, str(i).encode()) for i in range(5)])

    calls: list[list[tuple[int, int]]] = []
    commits_seen_by_handler: list[dict[int, int]] = []

    async def handle(records: list[Record[int]]) -> None:
        calls.append([(r.offset, r.value) for r in records])
        commits_seen_by_handler.append(await committed_offsets(settings.kafka, group, topic))
        if len(calls) == 1:
            raise RuntimeError("database is down")

    async with running_loop(settings, producer, topic, group, handle, "test"):
        await wait_until(lambda: sum(len(c) for c in calls[1:]) >= 5)
        final_commit = await commit_reached(settings, group, topic, 5)

    first = calls[0]
    redelivered = [item for call in calls[1:] for item in call]
    assert first, "the handler saw the first batch"
    # Everything the failed call saw came back, from the same offsets, in order.
    assert redelivered[: len(first)] == first
    assert [v for _, v in redelivered] == list(range(5))
    # Nothing was committed while the failing batch was being handled or redelivered.
    assert commits_seen_by_handler[0] == {}
    assert commits_seen_by_handler[1] == {}
    assert final_commit == {0: 5}


async def test_poison_message_goes_to_dlq_and_the_next_good_one_is_processed(
    settings: Settings, producer: BatchProducer, unique: str
) -> None:
    topic, group = await one_partition_topic(settings, "poison", unique)
    await producer.send_batch(
        [
            OutMessage(topic, b"k1", b"1"),
            OutMessage(topic, b"k-bad", b"not a number"),
            OutMessage(topic, b"k2", b"2"),
        ]
    )
    seen: list[int] = []

    async def handle(records: list[Record[int]]) -> None:
        seen.extend(r.value for r in records)

    async with running_loop(settings, producer, topic, group, handle, "test-service"):
        await wait_until(lambda: seen == [1, 2])
        dead = await read_topic(settings.kafka, Topics.dlq(topic), expected=1)
        final_commit = await commit_reached(settings, group, topic, 3)

    assert len(dead) == 1
    message = dead[0]
    assert message.key == b"k-bad"
    assert message.value == b"not a number"
    headers = dict(message.headers)
    assert headers["error"].startswith(b"ValueError")
    assert headers["service"] == b"test-service"
    assert headers["source_topic"] == topic.encode()
    assert headers["source_partition"] == b"0"
    assert headers["source_offset"] == b"1"
    assert final_commit == {0: 3}


async def test_records_the_handler_rejects_are_dead_lettered_not_retried(
    settings: Settings, producer: BatchProducer, unique: str
) -> None:
    topic, group = await one_partition_topic(settings, "reject", unique)
    await producer.send_batch([OutMessage(topic, None, str(i).encode()) for i in range(4)])
    handled: list[int] = []

    async def handle(records: list[Record[int]]) -> Sequence[Rejected]:
        handled.extend(r.value for r in records)
        return [Rejected(r, "odd numbers are not allowed") for r in records if r.value % 2]

    async with running_loop(settings, producer, topic, group, handle, "test"):
        await wait_until(lambda: len(handled) >= 4)
        dead = await read_topic(settings.kafka, Topics.dlq(topic), expected=2)
        commits = await commit_reached(settings, group, topic, 4)

    assert sorted(handled) == [0, 1, 2, 3]  # each handled exactly once: no retry loop
    assert sorted(m.value for m in dead) == [b"1", b"3"]
    assert all(dict(m.headers)["error"] == b"odd numbers are not allowed" for m in dead)
    assert commits == {0: 4}


async def test_batched_keys_land_where_send_puts_them_in_order(
    settings: Settings, producer: BatchProducer, unique: str
) -> None:
    """Per-client order rests on this: a key's messages share the partition that the
    client's own ``send`` picks, in the order given, batch after batch."""
    topic = f"test-keys-{unique}"
    await make_topic(settings.kafka, topic, partitions=6)
    keys = [f"client-{i}".encode() for i in range(20)]
    for round_ in range(2):
        await producer.send_batch(
            [OutMessage(topic, key, f"{round_}:{n}".encode()) for n in range(3) for key in keys]
        )
    reference = AIOKafkaProducer(**producer_options(settings.kafka))
    await reference.start()
    try:
        sent_alone = {
            key: (await reference.send_and_wait(topic, b"ref", key=key)).partition for key in keys
        }
    finally:
        await reference.stop()
    records = await read_topic(settings.kafka, topic, expected=len(keys) * 7)
    assert len({r.partition for r in records}) > 1, "keys spread over partitions"
    for key in keys:
        mine = [r for r in records if r.key == key]
        assert {r.partition for r in mine} == {sent_alone[key]}
        values = [r.value for r in sorted(mine, key=lambda r: r.offset)]
        assert values == [f"{r}:{n}".encode() for r in range(2) for n in range(3)] + [b"ref"]


async def test_without_joining_the_group_start_is_quick_and_offsets_are_the_groups(
    settings: Settings, producer: BatchProducer, unique: str
) -> None:
    """The rule-updater's mode: no group join (it waits out the broker's rebalance delay,
    seconds), every partition by hand, from the group's committed offsets."""
    topic, group = f"nojoin-{unique}", f"g-{unique}"
    await make_topic(settings.kafka, topic, partitions=3)
    await producer.send_batch([OutMessage(topic, str(i).encode(), b"1") for i in range(6)])
    seen: list[int] = []

    async def handle(records: list[Record[int]]) -> None:
        seen.extend(r.value for r in records)

    async def consume_until(count: int) -> float:
        loop = ConsumeLoop(
            kafka=settings.kafka, topics=[topic], group_id=group, decode=decode_int,
            handle=handle, producer=producer, service="nojoin-test", join_group=False,
        )  # fmt: skip
        stop = asyncio.Event()
        started = asyncio.get_running_loop().time()
        assert await loop.start(stop)
        took = asyncio.get_running_loop().time() - started
        task = asyncio.create_task(loop.run(stop))
        try:
            await wait_until(lambda: len(seen) >= count)
            for _ in range(100):
                commits = await committed_offsets(settings.kafka, group, topic, partitions=3)
                if sum(commits.values()) == count:
                    break
                await asyncio.sleep(0.1)
            assert sum(commits.values()) == count, "positions committed under the group"
        finally:
            stop.set()
            await task
        return took

    assert await consume_until(6) < 1.0, "start waited for a group join"
    assert seen == [1] * 6
    await producer.send_batch([OutMessage(topic, str(i).encode(), b"2") for i in range(6)])
    assert await consume_until(12) < 1.0
    assert seen == [1] * 6 + [2] * 6, "a restart goes on from the group's commits"
