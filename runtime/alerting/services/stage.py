"""The shape every consuming service shares: health server, producer, consume loop.

A stage differs only in what it consumes, how it handles a batch, what it must have
before taking the first message (the evaluator's rules, the rule-updater's first
reconcile) and what else runs beside the loop (the sender's poller). Everything else,
the order of start-up and the clean shutdown, lives here once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import asyncpg

from alerting.adapters import postgres
from alerting.adapters.kafka import BatchProducer, ConsumeLoop
from alerting.adapters.kafka.consumer import BatchHandler, Decoder
from alerting.aio import retry_until_stopped
from alerting.config import Settings
from alerting.http import ReadinessCheck, health_app, serve

T = TypeVar("T")
Task = Callable[[asyncio.Event], Awaitable[Any]]


@dataclass
class Stage(Generic[T]):
    name: str
    topic: str
    decode: Decoder[T]
    handle: BatchHandler[T]
    checks: Mapping[str, ReadinessCheck] = field(default_factory=dict)
    # Returns False when stopped before it could finish; consumption never starts then.
    before_consuming: Callable[[asyncio.Event], Awaitable[bool]] | None = None
    beside: Sequence[Task] = ()
    batch_size: int | None = None  # None: ALERTING_BATCH_SIZE
    # False: every partition by hand, no group join (``ConsumeLoop``'s docstring).
    join_group: bool = True


async def run_stage(
    settings: Settings, stop: asyncio.Event, producer: BatchProducer, stage: Stage[T]
) -> None:
    """Serve health at once, then consume until ``stop``; the producer is this stage's
    (its output and its dead letters) and is stopped here."""
    loop = ConsumeLoop(
        kafka=settings.kafka,
        topics=[stage.topic],
        group_id=settings.group_id(stage.name),
        decode=stage.decode,
        handle=stage.handle,
        producer=producer,
        service=stage.name,
        batch_size=stage.batch_size,
        join_group=stage.join_group,
    )
    app = health_app({**stage.checks, "kafka": loop.check, "producer": producer.check})

    async def work() -> None:
        if stage.before_consuming is not None and not await stage.before_consuming(stop):
            return
        if not await retry_until_stopped(producer.start, stop, "Kafka producer"):
            return
        try:
            await asyncio.gather(loop.run(stop), *(task(stop) for task in stage.beside))
        finally:
            await producer.stop()

    await asyncio.gather(serve(app, settings.http_host, settings.port(stage.name), stop), work())


async def connect_pool(
    settings: Settings, stop: asyncio.Event, *, async_commit: bool = False
) -> asyncpg.Pool[Any] | None:
    """A Postgres pool, waiting for the database as for any other dependency; None if
    stopped first. ``async_commit``: see ``postgres.ASYNC_COMMIT_SETTINGS``."""
    pools: list[asyncpg.Pool[Any]] = []

    async def connect() -> None:
        pools.append(await postgres.create_pool(settings, async_commit=async_commit))

    if not await retry_until_stopped(connect, stop, "Postgres connection"):
        return None
    return pools[0]
