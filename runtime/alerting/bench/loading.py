"""Putting a case's starting state in place without going through the APIs.

Rules go straight into Postgres (one statement per table and chunk) and into the Redis
snapshot through the rule-updater's own store and snapshot code, so 100,000 rules load
in seconds; messages are produced in large acknowledged batches.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg

from alerting import codec
from alerting.adapters import redis as redis_adapter
from alerting.adapters.kafka import BatchProducer, OutMessage, ensure_topics
from alerting.channels.standard_webhooks import new_secret
from alerting.commands.topics import all_topics
from alerting.config import Settings
from alerting.domain.model import Alert, AlertMatch, MatchingRule
from alerting.domain.silences import Silence
from alerting.sealed import ENDPOINT_SIGNING_SECRET, Keyring
from alerting.services.aggregator import store
from alerting.services.aggregator.store import Pending
from alerting.services.rule_updater.snapshot import SnapshotState
from alerting.services.rule_updater.store import SnapshotStore

CHUNK = 20_000

INSERT_CLIENTS = """
INSERT INTO clients (client_id, name) SELECT c, c FROM unnest($1::text[]) AS c
ON CONFLICT DO NOTHING
"""
INSERT_RULES = """
INSERT INTO rules (rule_id, client_id, severity, source, name)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])
"""
# Webhook secrets are sealed as the rule-service stores them, so the sender's benchmark
# pays for opening them as production does.
INSERT_ENDPOINTS = """
INSERT INTO endpoints (endpoint_id, rule_id, type, value, signing_secret)
SELECT e, r, $3, $4, s FROM unnest($1::uuid[], $2::uuid[], $5::text[]) AS x(e, r, s)
"""


async def create_topics(settings: Settings) -> None:
    await asyncio.wait_for(ensure_topics(settings.kafka, all_topics(settings)), 60)


async def write_snapshot(
    settings: Settings, rules: Sequence[MatchingRule], silences: Sequence[Silence] = ()
) -> int:
    """The rules (and silences) as the Redis snapshot the evaluator warms up from; the
    version written."""
    client = redis_adapter.create_client(settings)
    try:
        snapshot = SnapshotStore(client, redis_adapter.keys(settings))

        async def rebuild(_pipe: Any, _current: int, version: int) -> bytes:
            entries = [codec.silence_message(s, 1) for s in silences]
            return SnapshotState.of(version, rules, entries).serialize(version)

        version = await snapshot.update(rebuild)
        assert version is not None
        return version
    finally:
        await client.aclose()


async def delete_keys(settings: Settings) -> None:
    client = redis_adapter.create_client(settings)
    try:
        keys = redis_adapter.keys(settings)
        await client.delete(
            keys.snapshot, keys.version, keys.decisions, keys.evaluators, keys.applied, keys.rebuilt
        )
    finally:
        await client.aclose()


async def insert_rules(
    pool: asyncpg.Pool[Any],
    rules: Sequence[MatchingRule],
    kind: str,
    value: str,
    keyring: Keyring,
) -> None:
    """Clients, rules and one endpoint per rule (``kind`` webhook or email, at ``value``)."""
    async with pool.acquire() as conn, conn.transaction():
        await _insert_rules(conn, rules, kind, value, keyring)


async def insert_matching_rules(pool: asyncpg.Pool[Any], rules: Sequence[MatchingRule]) -> None:
    """Clients and rules without endpoints: what the aggregator checks a match against."""
    async with pool.acquire() as conn, conn.transaction():
        await _insert_rules(conn, rules, None, "", None)


def _endpoint_secrets(ids: Sequence[uuid.UUID], kind: str, keyring: Keyring) -> list[str | None]:
    if kind != "webhook":
        return [None] * len(ids)
    return [keyring.seal(new_secret(), ENDPOINT_SIGNING_SECRET.binding(i)) for i in ids]


async def _insert_rules(
    conn: Any,
    rules: Sequence[MatchingRule],
    kind: str | None,
    value: str,
    keyring: Keyring | None,
) -> None:
    await conn.execute(INSERT_CLIENTS, sorted({r.client_id for r in rules}))
    for i in range(0, len(rules), CHUNK):
        chunk = rules[i : i + CHUNK]
        await conn.execute(
            INSERT_RULES,
            [r.rule_id for r in chunk],
            [r.client_id for r in chunk],
            [r.severity for r in chunk],
            [r.source for r in chunk],
            [r.name for r in chunk],
        )
        if kind is None or keyring is None:
            continue
        ids = [uuid.uuid4() for _ in chunk]
        await conn.execute(
            INSERT_ENDPOINTS,
            ids,
            [r.rule_id for r in chunk],
            kind,
            value,
            _endpoint_secrets(ids, kind, keyring),
        )


async def insert_notifications(
    pool: asyncpg.Pool[Any], matches: Sequence[AlertMatch]
) -> list[Pending]:
    """PENDING notifications written by the aggregator's own statement."""
    pending: list[Pending] = []
    for i in range(0, len(matches), CHUNK):
        pending += (await store.upsert(pool, matches[i : i + CHUNK])).pending
    return pending


async def produce(settings: Settings, messages: Sequence[OutMessage]) -> None:
    producer = BatchProducer(settings.kafka)
    await producer.start()
    try:
        for i in range(0, len(messages), CHUNK):
            await producer.send_batch(messages[i : i + CHUNK])
    finally:
        await producer.stop()


def alert_messages(topic: str, alerts: Sequence[Alert]) -> list[OutMessage]:
    return [OutMessage(topic, a.alert_id.encode(), codec.encode_alert(a)) for a in alerts]
