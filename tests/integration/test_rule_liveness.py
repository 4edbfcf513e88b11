"""`live` and `?wait=` on rules, over the real path: rule-service (in process, with its
outbox relay) -> rule.changed -> the rule-updater and evaluator processes -> Redis."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest

from alerting import config
from alerting.adapters import redis as redis_adapter
from alerting.adapters.kafka import BatchProducer
from alerting.adapters.postgres import create_pool
from alerting.config import Settings
from alerting.domain import liveness
from alerting.services.evaluator.live_rules import LiveRules
from alerting.services.rule_service.outbox_relay import OutboxRelay
from tests.integration.rule_service_support import (
    Api,
    RunningService,
    fresh_database,
    start_service,
)
from tests.integration.silence_support import SILENCES, silence_body
from tests.kafka_helpers import make_topic
from tests.pipeline_support import eventually
from tests.processes import ServiceProcess, ServiceProcesses

pytestmark = pytest.mark.integration


@dataclasses.dataclass
class Stack:
    env: dict[str, str]
    settings: Settings
    pool: asyncpg.Pool[Any]
    service: RunningService
    processes: ServiceProcesses

    @property
    def admin(self) -> Api:
        return Api(self.service.base_url, self.settings.require_admin_token())

    def start(self, name: str) -> ServiceProcess:
        return self.processes.new(name, self.env).start()

    async def new_client(self, client_id: str) -> None:
        await self.admin.ok(
            "POST", "/api/v1/clients", 201, json={"client_id": client_id, "name": "x"}
        )


@pytest.fixture
async def stack(base_env: dict[str, str], unique: str, tmp_path: Any) -> AsyncIterator[Stack]:
    """rule-service and its relay in this process, on a database, topic and Redis prefix
    of the test's own; the rule-updater and evaluator processes are started by tests."""
    env = {
        **base_env,
        "ALERTING_TOPIC_RULE_CHANGED": f"live-{unique}.rule.changed",
        "ALERTING_TOPIC_ALERTS_NEW": f"live-{unique}.alerts.new",
        "ALERTING_REDIS_KEY_PREFIX": f"{base_env['ALERTING_REDIS_KEY_PREFIX']}{unique}:",
        "ALERTING_RECONCILE_INTERVAL_S": "3600",  # changes arrive through Kafka only
    }
    async with fresh_database(config.load(env)) as settings:
        env["ALERTING_POSTGRES_DSN"] = settings.postgres_dsn
        for topic in (settings.topics.rule_changed, settings.topics.alerts_new):
            await make_topic(settings.kafka, topic, partitions=3)
        pool = await create_pool(settings)
        relay = OutboxRelay(pool, BatchProducer(settings.kafka), settings.topics.rule_changed)
        stop = asyncio.Event()
        relay_task = asyncio.create_task(relay.run(stop))
        service = await start_service(settings, pool)
        try:
            with ServiceProcesses(tmp_path) as processes:
                yield Stack(env, settings, pool, service, processes)
        finally:
            await service.close()
            stop.set()
            await relay_task
            await pool.close()


def rule_body(client_id: str, name: str) -> dict[str, Any]:
    return {"client_id": client_id, "severity": "HIGH", "source": "db", "name": name}


async def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = await call()
    return result, time.monotonic() - started


async def test_a_new_rule_is_not_live_then_live_and_wait_returns_once_it_is(
    stack: Stack,
) -> None:
    _, evaluator = await asyncio.gather(
        asyncio.to_thread(stack.start, "rule-updater"), asyncio.to_thread(stack.start, "evaluator")
    )
    await stack.new_client("c1")
    api = stack.admin

    created = await api.ok("POST", "/api/v1/rules", 201, json=rule_body("c1", "a"))
    assert created["live"] is False, "nothing can have reached the evaluator yet"
    path = f"/api/v1/rules/{created['rule_id']}"

    async def live() -> bool:
        return bool((await api.ok("GET", path, 200))["live"])

    await eventually(live, timeout=10, what="the rule live")
    page = await api.ok("GET", "/api/v1/rules?client_id=c1", 200)
    assert [r["live"] for r in page["items"]] == [True]

    waited, took = await timed(
        lambda: api.ok("POST", "/api/v1/rules?wait=5", 201, json=rule_body("c1", "b"))
    )
    assert waited["live"] is True and took < 5

    patched, took = await timed(
        lambda: api.ok("PATCH", f"{path}?wait=5", 200, json={"version": 1, "enabled": False})
    )
    assert (patched["version"], patched["live"]) == (2, True) and took < 5
    # The evaluator stopping cleanly leaves at once: nothing is live without one.
    assert await asyncio.to_thread(evaluator.terminate) == 0, evaluator.logs()
    assert (await api.ok("GET", path, 200))["live"] is False


async def test_with_no_evaluator_wait_gives_up_at_its_bound(stack: Stack) -> None:
    await asyncio.to_thread(stack.start, "rule-updater")
    await stack.new_client("c2")
    answer, took = await timed(
        lambda: stack.admin.ok("POST", "/api/v1/rules?wait=1", 201, json=rule_body("c2", "a"))
    )
    assert answer["live"] is False
    assert 1.0 <= took < 2.5
    # ... and the rule was created all the same
    assert (await stack.admin.ok("GET", f"/api/v1/rules/{answer['rule_id']}", 200))["version"] == 1


@pytest.mark.parametrize("wait", ["0", "31", "x", "-1", "nan"])
async def test_an_invalid_wait_is_a_422_on_wait_and_changes_nothing(
    stack: Stack, wait: str
) -> None:
    await stack.new_client("c3")
    response = await stack.admin.post(f"/api/v1/rules?wait={wait}", json=rule_body("c3", "a"))
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["wait"]
    assert await stack.pool.fetchval("SELECT count(*) FROM rules") == 0
    assert await stack.pool.fetchval("SELECT count(*) FROM rule_outbox") == 0


# Silences answer `live` and take `?wait=` like rules (the rule-updater's silence records
# are helper D1's part: here Redis is given the records an evaluator and the updater write).


async def test_a_silence_is_live_once_the_records_say_every_evaluator_holds_it(
    stack: Stack,
) -> None:
    await stack.new_client("s1")
    api = stack.admin
    created = await api.ok("POST", SILENCES, 201, json=silence_body("s1"))
    assert created["live"] is False
    path = f"{SILENCES}/{created['silence_id']}"
    keys = redis_adapter.keys(stack.settings)
    redis = redis_adapter.create_client(stack.settings)
    try:
        now_ms = int(time.time() * 1000)
        await redis.hset(keys.evaluators, "e1", liveness.pair(7, now_ms))
        await redis.hset(keys.applied, created["silence_id"], liveness.pair(1, 7))
        assert (await api.ok("GET", path, 200))["live"] is True
        page = await api.ok("GET", f"{SILENCES}?client_id=s1", 200)
        assert [s["live"] for s in page["items"]] == [True]
        # A new version is not live until a snapshot carrying it is held.
        patched = await api.ok("PATCH", path, 200, json={"version": 1, "comment": "longer"})
        assert (patched["version"], patched["live"]) == (2, False)
        await redis.hset(keys.applied, created["silence_id"], liveness.pair(2, 8))
        await redis.hset(keys.evaluators, "e1", liveness.pair(8, int(time.time() * 1000)))
        assert (await api.ok("GET", path, 200))["live"] is True
    finally:
        await redis.delete(keys.evaluators, keys.applied)
        await redis.aclose()


async def test_a_silence_wait_gives_up_at_its_bound_and_is_validated(stack: Stack) -> None:
    await stack.new_client("s2")
    api = stack.admin
    answer, took = await timed(
        lambda: api.ok("POST", f"{SILENCES}?wait=1", 201, json=silence_body("s2"))
    )
    assert answer["live"] is False and 1.0 <= took < 2.5
    path = f"{SILENCES}/{answer['silence_id']}"
    for wait in ("0", "31", "x"):
        response = await api.patch(f"{path}?wait={wait}", json={"version": 1, "comment": "x"})
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["wait"]
        response = await api.post(f"{SILENCES}?wait={wait}", json=silence_body("s2"))
        assert response.status_code == 422, response.text
    assert (await api.ok("GET", path, 200))["version"] == 1, "a refused PATCH changed nothing"
    assert await stack.pool.fetchval("SELECT count(*) FROM silences") == 1


async def test_heartbeats_are_stamped_and_judged_by_redis_clock(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An evaluator's heartbeat carries Redis' TIME, not its host's clock, and
    rule-service reads the heartbeats' age by that same clock: a host whose clock is
    off cannot make an evaluator look gone (changes then wrongly live) or alive."""
    keys = redis_adapter.keys(stack.settings)
    redis = redis_adapter.create_client(stack.settings)
    try:
        rules = LiveRules(redis, keys)
        rules.matcher, rules.version = object(), 42  # type: ignore[assignment]
        hour_ns = 3_600 * 10**9
        with monkeypatch.context() as skewed:  # this host's clock an hour behind
            skewed.setattr(time, "time_ns", lambda real=time.time_ns: real() - hour_ns)
            await rules.report()
        stamped = liveness.parse_pair(await redis.hget(keys.evaluators, rules.instance))
        assert stamped is not None
        version, stamped_ms = stamped
        seconds, micros = await redis.time()
        redis_ms = int(seconds) * 1000 + int(micros) // 1000
        assert version == 42 and 0 <= redis_ms - stamped_ms < 1000
    finally:
        await redis.delete(keys.evaluators)
        await redis.aclose()
