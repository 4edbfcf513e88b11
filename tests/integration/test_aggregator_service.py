"""The aggregator process: one row per (client, alert) and episode, announcements, crash
between insert and publish, poison to DLQ."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from alerting import codec
from alerting.adapters.kafka import OutMessage
from alerting.config import Settings, Topics
from alerting.domain.model import Alert, AlertMatch, Severity
from tests.integration.episode_support import F, R, event
from tests.kafka_helpers import read_topic
from tests.pipeline_support import create_topics, eventually, isolated_env, produce
from tests.processes import ServiceProcess, ServiceProcesses

pytestmark = pytest.mark.integration


@pytest.fixture
def env(base_env: dict[str, str], unique: str, own_database: str) -> dict[str, str]:
    return isolated_env(base_env, unique, ALERTING_POSTGRES_DSN=own_database)


@pytest.fixture
def aggregator(env: dict[str, str], service_processes: ServiceProcesses) -> ServiceProcess:
    return service_processes.new("aggregator", env)


def match_message(
    settings: Settings,
    client: str,
    alert_id: str,
    *rule_ids: str,
    context: dict[str, str] | None = None,
) -> OutMessage:
    alert = Alert(alert_id, Severity.HIGH, "db", "disk_full", 1_700_000_000, context or {})
    match = AlertMatch(alert, client, tuple(rule_ids))
    return OutMessage(settings.topics.alerts_matched, client.encode(), codec.encode_match(match))


async def seed_rules(dsn: str, client: str, *rule_ids: str) -> None:
    """The client and rules a match names: the aggregator stores only matches of rules
    that still exist (a deleted client's matches still in Kafka store nothing)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO clients (client_id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING", client
        )
        await conn.execute(
            "INSERT INTO rules (rule_id, client_id, severity, source, name)"
            " SELECT r, $2, 'HIGH', 'db', r::text FROM unnest($1::uuid[]) AS r",
            list(rule_ids),
            client,
        )
    finally:
        await conn.close()


async def rows(dsn: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(
            "SELECT notification_id::text, client_id, alert_id, rule_ids::text[] AS rule_ids,"
            " status, context::text AS context FROM notifications ORDER BY client_id, alert_id"
        )
    finally:
        await conn.close()


async def ready_ids(settings: Settings, expected: int) -> list[str]:
    out = await read_topic(settings.kafka, settings.topics.notifications_ready, expected, 20)
    return [codec.decode_notification_ready(m.value).notification_id for m in out]


async def test_one_notification_per_client_and_alert_however_often_matched(
    env: dict[str, str], aggregator: ServiceProcess
) -> None:
    settings = await create_topics(env)
    r1, r2, r3 = (str(uuid.uuid4()) for _ in range(3))
    await seed_rules(env["ALERTING_POSTGRES_DSN"], "acme", r1, r2)
    await seed_rules(env["ALERTING_POSTGRES_DSN"], "bolt", r3)
    aggregator.start()
    await produce(
        settings,
        [
            match_message(settings, "acme", "a1", r1, context={"host": "db1"}),
            match_message(settings, "acme", "a1", r1),  # the same match redelivered
            match_message(settings, "acme", "a1", r2),  # another rule, same client/alert
            match_message(settings, "bolt", "a1", r3),
            match_message(settings, "acme", "a2", r1),
        ],
    )

    async def three_rows() -> list[asyncpg.Record]:
        found = await rows(env["ALERTING_POSTGRES_DSN"])
        return found if len(found) == 3 else []

    stored = await eventually(three_rows)
    assert [(r["client_id"], r["alert_id"], r["status"]) for r in stored] == [
        ("acme", "a1", "PENDING"),
        ("acme", "a2", "PENDING"),
        ("bolt", "a1", "PENDING"),
    ]
    assert '"host": "db1"' in stored[0]["context"]
    ids = await ready_ids(settings, expected=3)
    assert set(ids) == {r["notification_id"] for r in stored}

    # Later duplicates: the row is still undelivered, so it is announced again; once
    # SENT, a duplicate is absorbed silently.
    conn = await asyncpg.connect(env["ALERTING_POSTGRES_DSN"])
    try:
        await conn.execute("UPDATE notifications SET status = 'SENT' WHERE alert_id = 'a2'")
    finally:
        await conn.close()
    await produce(
        settings,
        [match_message(settings, "acme", "a1", r1), match_message(settings, "acme", "a2", r1)],
    )
    ids = await ready_ids(settings, expected=4)
    acme_a1 = stored[0]["notification_id"]
    assert sorted(ids).count(acme_a1) == 2 and len(ids) == 4
    assert len(await rows(env["ALERTING_POSTGRES_DSN"])) == 3
    assert aggregator.terminate() == 0, aggregator.logs()


async def test_crash_between_insert_and_publish_announces_after_restart(
    env: dict[str, str], tmp_path: Path
) -> None:
    settings = await create_topics(env)
    rule_id = str(uuid.uuid4())
    await seed_rules(env["ALERTING_POSTGRES_DSN"], "acme", rule_id)
    failing_env = {**env, "ALERTING_FAILPOINT": "aggregator.after_insert:1"}
    with ServiceProcess("aggregator", failing_env, tmp_path) as crashing:
        crashing.start()
        await produce(
            settings, [match_message(settings, "acme", f"c{i}", rule_id) for i in range(20)]
        )
        assert crashing.process is not None
        assert crashing.process.wait(30) == -9, crashing.logs()
    stored = await rows(env["ALERTING_POSTGRES_DSN"])
    assert stored, "the failpoint is after the INSERT: some rows must be committed"
    assert await read_topic(settings.kafka, settings.topics.notifications_ready, 1, 2) == []

    with ServiceProcess("aggregator", env, tmp_path) as restarted:
        restarted.start()
        ids = await ready_ids(settings, expected=20)
        final = await rows(env["ALERTING_POSTGRES_DSN"])
        assert len(final) == 20
        assert {r["notification_id"] for r in final} == set(ids)
        assert {r["notification_id"] for r in stored} <= set(ids)


async def test_poison_and_unstorable_matches_are_dead_lettered(
    env: dict[str, str], aggregator: ServiceProcess
) -> None:
    settings = await create_topics(env)
    rule_id = str(uuid.uuid4())
    await seed_rules(env["ALERTING_POSTGRES_DSN"], "acme", rule_id)
    aggregator.start()
    topic = settings.topics.alerts_matched
    await produce(
        settings,
        [
            OutMessage(topic, b"garbage", b"\x0a\xff\xff\xff"),
            match_message(settings, "acme", "bad-rule", "not-a-uuid"),
            match_message(settings, "acme", "nul", rule_id, context={"k": "a\x00b"}),
            match_message(settings, "acme", "good", rule_id),
        ],
    )
    dead = await read_topic(settings.kafka, Topics.dlq(topic), expected=3)
    reasons = sorted((m.key, dict(m.headers)["error"].decode()) for m in dead)
    assert [key for key, _ in reasons] == [b"acme", b"acme", b"garbage"]
    assert "NUL" in reasons[0][1] or "NUL" in reasons[1][1]
    assert any("is not a UUID" in reason for _, reason in reasons)
    good = await ready_ids(settings, expected=1)
    assert len(good) == 1
    assert [r["alert_id"] for r in await rows(env["ALERTING_POSTGRES_DSN"])] == ["good"]


def metric(process: ServiceProcess, name: str) -> float:
    for line in httpx.get(f"{process.url}/metrics").text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return 0.0


async def test_episodes_announce_what_the_sender_may_deliver_and_count_early_resolveds(
    env: dict[str, str], aggregator: ServiceProcess
) -> None:
    settings = await create_topics(env)
    rule_id = str(uuid.uuid4())
    await seed_rules(env["ALERTING_POSTGRES_DSN"], "acme", rule_id)
    aggregator.start()
    silenced = (str(uuid.uuid4()),)
    events = [
        event("acme", "a1", F, 0, rule_id),
        event("acme", "a1", R, 10, rule_id),
        event("acme", "muted", F, 0, rule_id, silences=silenced),
        event("acme", "muted", R, 10, rule_id),
        event("acme", "early", R, 10, rule_id),  # before its firing: dropped, counted
    ]
    topic = settings.topics.alerts_matched
    await produce(settings, [OutMessage(topic, b"acme", codec.encode_match(e)) for e in events])

    async def four_rows() -> list[asyncpg.Record]:
        found = await rows(env["ALERTING_POSTGRES_DSN"])
        return found if len(found) == 4 else []

    stored = await eventually(four_rows)
    assert [(r["alert_id"], r["status"]) for r in stored] == [
        ("a1", "PENDING"), ("a1", "PENDING"), ("muted", "SUPPRESSED"), ("muted", "SUPPRESSED"),
    ]  # fmt: skip

    async def counted() -> bool:  # after the batch's produce
        return metric(aggregator, "alerting_aggregator_resolved_without_episode_total") == 1

    await eventually(counted, 10, "the early resolved counted")
    assert metric(aggregator, "alerting_aggregator_notifications_created_total") == 4
    # Asked for one more than was produced: the SUPPRESSED rows are never announced.
    out = await read_topic(settings.kafka, settings.topics.notifications_ready, 3, 3)
    announced = [codec.decode_notification_ready(m.value).notification_id for m in out]
    assert sorted(announced) == sorted(r["notification_id"] for r in stored[:2])
    assert aggregator.terminate() == 0, aggregator.logs()
