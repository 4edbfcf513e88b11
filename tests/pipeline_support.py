"""Helpers for tests of the data-plane services: isolated topics, polling, Kafka I/O."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from alerting import config
from alerting.adapters.kafka import BatchProducer, OutMessage, ensure_topics
from alerting.commands.topics import all_topics
from alerting.config import Settings

# uvicorn closes a connection idle for 5 s, and httpx keeps one for 5 s by default: a
# session-long client could send on a connection the server is closing that moment
# (httpx.ReadError or "Server disconnected without sending a response", seen under xdist
# load). Clients that live across a test drop idle connections well before.
CLIENT_LIMITS = httpx.Limits(keepalive_expiry=1.0)


def isolated_env(base_env: dict[str, str], unique: str, **extra: str) -> dict[str, str]:
    """The session's servers with this test's own topics, groups and Redis keys, so
    whole-topic and whole-keyspace assertions see only what the test made."""
    return {
        **base_env,
        "ALERTING_TOPIC_ALERTS_NEW": f"an-{unique}",
        "ALERTING_TOPIC_RULE_CHANGED": f"rc-{unique}",
        "ALERTING_TOPIC_ALERTS_MATCHED": f"am-{unique}",
        "ALERTING_TOPIC_NOTIFICATIONS_READY": f"nr-{unique}",
        "ALERTING_CONSUMER_GROUP": "",
        "ALERTING_REDIS_KEY_PREFIX": f"{base_env['ALERTING_REDIS_KEY_PREFIX']}{unique}:",
        **extra,
    }


async def create_topics(env: dict[str, str]) -> Settings:
    settings = config.load(env)
    await ensure_topics(settings.kafka, all_topics(settings))
    return settings


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout: float = 30.0, what: str = "condition"
) -> Any:
    """Poll ``check`` until it returns something truthy; that value is returned."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached in {timeout:.0f}s (last: {result!r})")
        await asyncio.sleep(0.1)


async def produce(settings: Settings, messages: Sequence[OutMessage]) -> None:
    producer = BatchProducer(settings.kafka)
    await producer.start()
    try:
        await producer.send_batch(messages)
    finally:
        await producer.stop()
