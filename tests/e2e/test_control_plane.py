"""Control plane end to end: rule-service (API + outbox relay) -> Kafka -> rule-updater(s)
-> Redis, with real processes, a real broker and real crashes."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from alerting import config
from alerting.codec import decode_rule_change, decode_snapshot
from alerting.config import Settings
from alerting.dev import infra
from tests.kafka_helpers import make_topic, read_topic
from tests.ports import free_port
from tests.processes import ServiceProcesses

pytestmark = pytest.mark.e2e
SEVERITIES = ["LOW", "MEDIUM", "HIGH", "CRITICAL", "*"]


@pytest.fixture
def plane_env(base_env: dict[str, str], own_database: str, unique: str) -> dict[str, str]:
    return {
        **base_env,
        "ALERTING_POSTGRES_DSN": own_database,
        "ALERTING_TOPIC_RULE_CHANGED": f"rc-{unique}",
        "ALERTING_CONSUMER_GROUP": f"ru-{unique}",
        "ALERTING_REDIS_KEY_PREFIX": f"{base_env['ALERTING_REDIS_KEY_PREFIX']}{unique}:",
        "ALERTING_RECONCILE_INTERVAL_S": "3600",
    }


@pytest.fixture
def plane_settings(plane_env: dict[str, str]) -> Settings:
    return config.load(plane_env)


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.http.request(method, path, **kw)


def random_operations(api: Api, clients: list[str], count: int, seed: int) -> None:
    """create/update/enable/disable/delete across several clients through the API."""
    rng = random.Random(seed)
    rules: dict[str, int] = {}  # rule_id -> version last read
    for _ in range(count):
        op = rng.choice(["create", "create", "update", "enable", "disable", "delete"])
        if op == "create" or not rules:
            body = {
                "client_id": rng.choice(clients),
                "severity": rng.choice(SEVERITIES[:-1]),
                "source": f"src{rng.randrange(40)}",
                "name": rng.choice(["*", f"n{rng.randrange(40)}"]),
            }
            r = api.call("POST", "/api/v1/rules", json=body)
            assert r.status_code in (201, 409), r.text
            if r.status_code == 201:
                rules[r.json()["rule_id"]] = r.json()["version"]
            continue
        rule_id = rng.choice(list(rules))
        if op == "delete":
            assert api.call("DELETE", f"/api/v1/rules/{rule_id}").status_code == 204
            del rules[rule_id]
            continue
        patch: dict[str, Any] = {"version": rules[rule_id]}
        if op == "update":
            patch["source"] = f"src{rng.randrange(1000)}"
        else:
            patch["enabled"] = op == "enable"
        r = api.call("PATCH", f"/api/v1/rules/{rule_id}", json=patch)
        assert r.status_code in (200, 409), r.text
        if r.status_code == 200:
            rules[rule_id] = r.json()["version"]


async def snapshot_equals_postgres(settings: Settings, prefix: str, timeout: float) -> None:
    client = aioredis.Redis.from_url(settings.redis_url)
    conn = await asyncpg.connect(settings.postgres_dsn)
    try:
        deadline = time.monotonic() + timeout
        while True:
            rows = await conn.fetch(
                "SELECT rule_id::text, client_id, severity, source, name FROM rules WHERE enabled"
            )
            expected = {tuple(r) for r in rows}
            # One MGET: the pair is written atomically and must be read so too.
            data, version = await client.mget(f"{prefix}rules:snapshot", f"{prefix}rules:version")
            got: set[tuple[str, ...]] = set()
            if data is not None:
                snap = decode_snapshot(data)
                assert snap.version == int(version)
                got = {(r.rule_id, r.client_id, r.severity, r.source, r.name) for r in snap.rules}
            if got == expected:
                return
            if time.monotonic() > deadline:
                missing, extra = expected - got, got - expected
                raise AssertionError(
                    f"snapshot differs: {len(missing)} missing, {len(extra)} extra"
                )
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
        await client.aclose()


def make_clients(api: Api, unique: str, n: int) -> list[str]:
    clients = [f"c{i}-{unique}" for i in range(n)]
    for client_id in clients:
        r = api.call("POST", "/api/v1/clients", json={"client_id": client_id, "name": client_id})
        assert r.status_code == 201, r.text
    return clients


async def start_plane(
    env: dict[str, str],
    settings: Settings,
    processes: ServiceProcesses,
    updaters: int = 1,
) -> Api:
    """rule-service and ``updaters`` rule-updaters on their own topic; the admin API."""
    await make_topic(settings.kafka, env["ALERTING_TOPIC_RULE_CHANGED"], partitions=3)
    service = processes.start("rule-service", env)
    for _ in range(updaters):
        processes.start("rule-updater", env)
    return Api(service.url, env["ALERTING_ADMIN_TOKEN"])


@pytest.mark.parametrize("updaters", [1, 2], ids=["one-updater", "two-updaters-at-once"])
async def test_random_api_operations_leave_the_snapshot_equal_to_postgres(
    plane_settings: Settings,
    plane_env: dict[str, str],
    service_processes: ServiceProcesses,
    unique: str,
    updaters: int,
) -> None:
    api = await start_plane(plane_env, plane_settings, service_processes, updaters)
    random_operations(api, make_clients(api, unique, 4), 1000, seed=10 + updaters)
    await snapshot_equals_postgres(plane_settings, plane_env["ALERTING_REDIS_KEY_PREFIX"], 60)


async def test_a_deleted_snapshot_is_rebuilt_by_reconcile(
    plane_settings: Settings,
    plane_env: dict[str, str],
    service_processes: ServiceProcesses,
    unique: str,
) -> None:
    env = {**plane_env, "ALERTING_RECONCILE_INTERVAL_S": "1"}
    api = await start_plane(env, plane_settings, service_processes)
    random_operations(api, make_clients(api, unique, 2), 100, seed=13)
    prefix = env["ALERTING_REDIS_KEY_PREFIX"]
    await snapshot_equals_postgres(plane_settings, prefix, 60)
    client = aioredis.Redis.from_url(plane_settings.redis_url)
    try:
        before = int(await client.get(f"{prefix}rules:version"))
        assert await client.delete(f"{prefix}rules:snapshot") == 1
        await snapshot_equals_postgres(plane_settings, prefix, 30)
        assert int(await client.get(f"{prefix}rules:version")) > before
    finally:
        await client.aclose()


async def test_outbox_event_committed_before_a_crash_is_published_after_restart(
    plane_settings: Settings,
    plane_env: dict[str, str],
    tmp_path: Path,
    service_processes: ServiceProcesses,
    unique: str,
) -> None:
    # The broker is down while the rule is created, so the relay cannot publish the
    # committed outbox row; then rule-service is SIGKILLed. Nothing may be lost.
    port = free_port()
    env = {**plane_env, "ALERTING_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}"}
    proc = service_processes.new("rule-service", env)
    proc.start(ready_timeout=None)
    api = Api(proc.url, env["ALERTING_ADMIN_TOKEN"])
    deadline = time.monotonic() + 30
    while True:  # the API answers although Kafka is down (readyz says not ready)
        try:
            if api.call("GET", "/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, proc.logs()
        time.sleep(0.2)
    make_clients(api, unique, 1)
    created = api.call(
        "POST",
        "/api/v1/rules",
        json={"client_id": f"c0-{unique}", "severity": "HIGH", "source": "db", "name": "*"},
    )
    assert created.status_code == 201, created.text
    rule_id = created.json()["rule_id"]
    conn = await asyncpg.connect(plane_settings.postgres_dsn)
    try:
        pending = await conn.fetchval(
            "SELECT count(*) FROM rule_outbox WHERE rule_id = $1 AND published_at IS NULL",
            rule_id,
        )
        assert pending == 1, "committed with the rule, not yet published"
        proc.kill()

        broker = infra.start_tansu(port, tmp_path)
        try:
            kafka = dataclasses.replace(plane_settings.kafka, bootstrap=f"127.0.0.1:{port}")
            await make_topic(kafka, env["ALERTING_TOPIC_RULE_CHANGED"], partitions=3)
            service_processes.start("rule-service", env)
            events = await read_topic(kafka, env["ALERTING_TOPIC_RULE_CHANGED"], expected=1)
            changes = [decode_rule_change(m.value) for m in events]
            assert [(c.rule_id, c.action.value, c.version) for c in changes] == [
                (rule_id, "CREATED", 1)
            ]
            published = await conn.fetchval(
                "SELECT published_at IS NOT NULL FROM rule_outbox WHERE rule_id = $1", rule_id
            )
            deadline = time.monotonic() + 10
            while not published and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                published = await conn.fetchval(
                    "SELECT published_at IS NOT NULL FROM rule_outbox WHERE rule_id = $1", rule_id
                )
            assert published
        finally:
            service_processes.kill_all()
            broker.stop()
    finally:
        await conn.close()
