"""Silences end to end through the snapshot: a silence row and its SILENCE change on
rule.changed reach the rule-updater's snapshot, and the evaluator marks the alerts it
mutes (AlertMatched.silence_ids), reading the alert's context where a matcher needs it."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from alerting import codec
from alerting.adapters import postgres
from alerting.adapters.kafka import OutMessage
from alerting.config import Settings
from alerting.domain.model import Alert, ChangedEntity, RuleAction, RuleChange, Severity
from tests.kafka_helpers import read_topic
from tests.pipeline_support import create_topics, eventually, isolated_env, produce
from tests.processes import ServiceProcesses

pytestmark = pytest.mark.integration


@pytest.fixture
def env(base_env: dict[str, str], unique: str) -> dict[str, str]:
    return isolated_env(base_env, unique, ALERTING_RECONCILE_INTERVAL_S="3600")


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool[Any]]:
    created = await postgres.create_pool(settings)
    try:
        yield created
    finally:
        await created.close()


async def snapshot_silences(settings: Settings) -> set[str]:
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        data = await client.get(f"{settings.redis_key_prefix}rules:snapshot")
    finally:
        await client.aclose()
    return {s.silence_id for s in codec.decode_snapshot(data).silences} if data else set()


def alert(settings: Settings, alert_id: str, region: str) -> OutMessage:
    value = Alert(alert_id, Severity.HIGH, "db", "disk_full", 1_700_000_000, {"region": region})
    return OutMessage(settings.topics.alerts_new, alert_id.encode(), codec.encode_alert(value))


async def test_a_silence_change_reaches_the_evaluator_which_marks_the_alerts_it_mutes(
    env: dict[str, str],
    pool: asyncpg.Pool[Any],
    service_processes: ServiceProcesses,
    unique: str,
) -> None:
    settings = await create_topics(env)
    client_id, other = f"sil-{unique}", f"sil2-{unique}"
    rule_id, other_rule = str(uuid.uuid4()), str(uuid.uuid4())
    silence_id = str(uuid.uuid4())
    try:
        for client, rule in ((client_id, rule_id), (other, other_rule)):
            await pool.execute("INSERT INTO clients (client_id, name) VALUES ($1, 'x')", client)
            await pool.execute(
                "INSERT INTO rules (rule_id, client_id, severity, source, name)"
                " VALUES ($1, $2, 'HIGH', 'db', '*')",
                rule,
                client,
            )
        updater = service_processes.new("rule-updater", env)
        updater.start()  # its first reconcile is done: the silence below comes as a change
        await pool.execute(
            "INSERT INTO silences (silence_id, client_id, matchers, starts_at, ends_at,"
            " created_by) VALUES ($1, $2, $3, now() - interval '1 minute',"
            " now() + interval '1 hour', 'admin')",
            silence_id,
            client_id,
            [
                {"name": "source", "op": "=", "value": "db"},
                {"name": "context.region", "op": "=~", "value": "eu-.*"},
            ],
        )
        change = RuleChange(
            silence_id,
            client_id,
            RuleAction.CREATED,
            1,
            int(time.time() * 1000),
            ChangedEntity.SILENCE,
        )
        topic = settings.topics.rule_changed
        await produce(
            settings, [OutMessage(topic, client_id.encode(), codec.encode_rule_change(change))]
        )

        async def in_snapshot() -> bool:
            return silence_id in await snapshot_silences(settings)

        await eventually(in_snapshot, what="the silence in the snapshot")

        service_processes.new("evaluator", env).start()
        await produce(settings, [alert(settings, "eu", "eu-west"), alert(settings, "us", "us-1")])
        out = await read_topic(settings.kafka, settings.topics.alerts_matched, expected=4)
        got = {}
        for message in out:
            match = codec.decode_match(message.value)
            got[(match.alert.alert_id, match.client_id)] = match.silence_ids
        assert got == {
            ("eu", client_id): (silence_id,),
            ("eu", other): (),  # another client's silence never applies
            ("us", client_id): (),  # the context matcher does not hold
            ("us", other): (),
        }
        assert updater.terminate() == 0, updater.logs()
    finally:
        await pool.execute(
            "DELETE FROM clients WHERE client_id = ANY($1::text[])", [client_id, other]
        )
