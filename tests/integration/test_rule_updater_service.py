"""The rule-updater process: outbox -> rule.changed -> Redis, DLQ, health, clean stop."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from asyncpg.pool import PoolConnectionProxy

from alerting.adapters import postgres
from alerting.adapters.kafka import BatchProducer, OutMessage
from alerting.codec import decode_snapshot
from alerting.config import Settings, Topics
from alerting.services.rule_service.outbox_relay import OutboxRelay
from tests.kafka_helpers import make_topic, read_topic
from tests.pipeline_support import eventually, produce
from tests.processes import ServiceProcess, ServiceProcesses

pytestmark = pytest.mark.integration


@pytest.fixture
def updater_env(base_env: dict[str, str], unique: str) -> dict[str, str]:
    return {
        **base_env,
        "ALERTING_TOPIC_RULE_CHANGED": f"rc-{unique}",
        "ALERTING_REDIS_KEY_PREFIX": f"{base_env['ALERTING_REDIS_KEY_PREFIX']}{unique}:",
        "ALERTING_RECONCILE_INTERVAL_S": "3600",  # prove changes arrive through Kafka
    }


@pytest.fixture
def updater_process(
    updater_env: dict[str, str], service_processes: ServiceProcesses
) -> ServiceProcess:
    return service_processes.new("rule-updater", updater_env)


async def snapshot_rules(settings: Settings, prefix: str) -> tuple[int, set[str]]:
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        data = await client.get(f"{prefix}rules:snapshot")
    finally:
        await client.aclose()
    if data is None:
        return 0, set()
    snap = decode_snapshot(data)
    return snap.version, {r.rule_id for r in snap.rules}


async def write_outbox_row(
    conn: PoolConnectionProxy[Any], rule_id: str, client_id: str, action: str, version: int
) -> None:
    """The outbox row rule-service writes with a rule change, written here by hand so the
    test drives the relay and the updater without rule-service's API."""
    await conn.execute(
        "INSERT INTO rule_outbox (rule_id, client_id, action, version) VALUES ($1, $2, $3, $4)",
        rule_id,
        client_id,
        action,
        version,
    )


async def test_outbox_events_reach_the_snapshot_and_poison_goes_to_dlq(
    settings: Settings,
    updater_env: dict[str, str],
    updater_process: ServiceProcess,
    unique: str,
) -> None:
    topic = updater_env["ALERTING_TOPIC_RULE_CHANGED"]
    prefix = updater_env["ALERTING_REDIS_KEY_PREFIX"]
    await make_topic(settings.kafka, topic, partitions=3)
    updater_process.start()

    pool = await postgres.create_pool(settings)
    producer = BatchProducer(settings.kafka)
    relay = OutboxRelay(pool, producer, topic, poll_interval_s=0.2)
    stop = asyncio.Event()
    relay_task = asyncio.create_task(relay.run(stop))
    client_id = f"svc-{unique}"
    rule_id = str(uuid.uuid4())
    try:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("INSERT INTO clients (client_id, name) VALUES ($1, 'x')", client_id)
            await conn.execute(
                "INSERT INTO rules (rule_id, client_id, severity, source, name)"
                " VALUES ($1, $2, 'HIGH', 'db', '*')",
                rule_id,
                client_id,
            )
            await write_outbox_row(conn, rule_id, client_id, "CREATED", 1)
            await conn.execute("SELECT pg_notify('rule_outbox', '')")

        async def has_rule() -> bool:
            return rule_id in (await snapshot_rules(settings, prefix))[1]

        await eventually(has_rule)

        # A poison message and then a real change: the first is dead-lettered, the
        # second still applied.
        await produce(settings, [OutMessage(topic, b"bad", b"\x08\x96\x01garbage\xff")])
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("UPDATE rules SET enabled = false WHERE rule_id = $1", rule_id)
            await write_outbox_row(conn, rule_id, client_id, "DISABLED", 2)

        async def rule_gone() -> bool:
            return rule_id not in (await snapshot_rules(settings, prefix))[1]

        await eventually(rule_gone)
        dead = await read_topic(settings.kafka, Topics.dlq(topic), expected=1)
        assert [m.key for m in dead] == [b"bad"]
        assert dict(dead[0].headers)["service"] == b"rule-updater"

        metrics = httpx.get(f"{updater_process.url}/metrics").text
        assert "alerting_snapshot_version" in metrics
        assert 'alerting_dead_lettered_messages_total{topic="' + topic + '"} 1.0' in metrics
        assert httpx.get(f"{updater_process.url}/healthz").status_code == 200
    finally:
        stop.set()
        await relay_task
        await pool.execute("DELETE FROM clients WHERE client_id = $1", client_id)
        await pool.close()
    assert updater_process.terminate() == 0, updater_process.logs()


async def test_not_ready_while_redis_holds_no_snapshot_and_ready_once_it_does(
    settings: Settings,
    updater_env: dict[str, str],
    updater_process: ServiceProcess,
) -> None:
    """Evaluators cannot load rules without the snapshot, so the updater is not ready
    while Redis lacks it (issue 13, item 12), e.g. after a Redis flush or restart."""
    prefix = updater_env["ALERTING_REDIS_KEY_PREFIX"]
    await make_topic(settings.kafka, updater_env["ALERTING_TOPIC_RULE_CHANGED"])
    await asyncio.to_thread(updater_process.start)  # waits for 200 from /readyz
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        snapshot = await client.get(f"{prefix}rules:snapshot")
        assert snapshot is not None
        await client.delete(f"{prefix}rules:snapshot")  # the reconcile is an hour away
        async with httpx.AsyncClient(base_url=updater_process.url, timeout=10) as http:
            missing = await http.get("/readyz")
            assert missing.status_code == 503
            assert missing.json() == {"status": "not ready"}
            await client.set(f"{prefix}rules:snapshot", snapshot)
            assert (await http.get("/readyz")).status_code == 200
    finally:
        await client.aclose()
