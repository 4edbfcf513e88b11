"""The evaluator process: warm start, one match per client, live refresh, poison to DLQ."""

from __future__ import annotations

import gc
import uuid
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from alerting import codec, config
from alerting.adapters.kafka import OutMessage
from alerting.adapters.redis import Keys
from alerting.config import Settings, Topics
from alerting.domain.model import Alert, MatchingRule, RuleSnapshot, Severity
from alerting.services.evaluator.live_rules import LiveRules
from alerting.services.rule_updater.store import SnapshotStore
from tests.kafka_helpers import read_topic
from tests.pipeline_support import create_topics, eventually, isolated_env, produce
from tests.processes import ServiceProcess, ServiceProcesses

pytestmark = pytest.mark.integration


@pytest.fixture
def env(base_env: dict[str, str], unique: str) -> dict[str, str]:
    return isolated_env(base_env, unique)


@pytest.fixture
def evaluator(env: dict[str, str], service_processes: ServiceProcesses) -> ServiceProcess:
    return service_processes.new("evaluator", env)


async def publish_rules(settings: Settings, rules: list[MatchingRule]) -> int:
    """Write a snapshot the way the rule-updater does (compare-and-set plus announcement)."""
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        store = SnapshotStore(client, Keys(settings.redis_key_prefix))

        async def rebuild(_pipe: Any, _current: int, version: int) -> bytes:
            return codec.encode_snapshot(RuleSnapshot(version, tuple(rules)))

        version = await store.update(rebuild)
        assert version is not None
        return version
    finally:
        await client.aclose()


def alert_message(settings: Settings, alert_id: str, severity: str, source: str) -> OutMessage:
    alert = Alert(alert_id, Severity(severity), source, "disk_full", 1_700_000_000, {"k": "v"})
    return OutMessage(settings.topics.alerts_new, alert_id.encode(), codec.encode_alert(alert))


def rule(client: str, severity: str = "*", source: str = "*", name: str = "*") -> MatchingRule:
    return MatchingRule(str(uuid.uuid4()), client, severity, source, name)


async def test_waits_for_the_snapshot_then_emits_one_match_per_client(
    env: dict[str, str], evaluator: ServiceProcess
) -> None:
    settings = await create_topics(env)
    evaluator.start(ready_timeout=None)

    async def readiness() -> int:
        try:
            return httpx.get(f"{evaluator.url}/readyz", timeout=2).status_code
        except httpx.HTTPError:
            return 0

    assert await eventually(readiness) == 503  # up, but no rules yet: not ready
    # Which check fails is logged, no longer served (issue 13, item 12).
    assert httpx.get(f"{evaluator.url}/readyz").json() == {"status": "not ready"}
    # An alert posted before the rules exist must wait for them, not be dropped.
    await produce(settings, [alert_message(settings, "early", "HIGH", "db")])

    a1, a2 = rule("acme", "HIGH", "db"), rule("acme", source="db", name="disk_full")
    b1 = rule("bolt", "HIGH")
    other = rule("zeta", "LOW", "web")
    await publish_rules(settings, [a1, a2, b1, other])
    evaluator.wait_ready(30)
    await produce(
        settings,
        [
            alert_message(settings, "x1", "HIGH", "db"),  # acme (a1, a2) and bolt
            alert_message(settings, "x2", "LOW", "web"),  # zeta only
            alert_message(settings, "x3", "MEDIUM", "nowhere"),  # nobody
        ],
    )
    out = await read_topic(settings.kafka, settings.topics.alerts_matched, expected=5)
    got = {}
    for msg in out:
        match = codec.decode_match(msg.value)
        assert msg.key == match.client_id.encode()
        got[(match.alert.alert_id, match.client_id)] = set(match.rule_ids)
    assert got == {
        ("early", "acme"): {a1.rule_id, a2.rule_id},
        ("early", "bolt"): {b1.rule_id},
        ("x1", "acme"): {a1.rule_id, a2.rule_id},
        ("x1", "bolt"): {b1.rule_id},
        ("x2", "zeta"): {other.rule_id},
    }
    assert len(out) == 5  # one message per (alert, client), however many rules matched


async def test_new_rules_apply_without_restart_and_poison_is_dead_lettered(
    env: dict[str, str], evaluator: ServiceProcess
) -> None:
    settings = await create_topics(env)
    first = rule("acme", "CRITICAL")
    await publish_rules(settings, [first])
    evaluator.start()

    added = rule("acme", "HIGH", "db")
    version = await publish_rules(settings, [first, added])

    def loaded_version() -> float:
        for line in httpx.get(f"{evaluator.url}/metrics").text.splitlines():
            if line.startswith("alerting_evaluator_rules_version "):
                return float(line.split()[1])
        return 0.0

    async def refreshed() -> bool:
        return loaded_version() == version

    await eventually(refreshed, timeout=10, what="evaluator refresh")
    topic = settings.topics.alerts_new
    await produce(
        settings,
        [
            OutMessage(topic, b"poison", b"\xff\x00not protobuf"),
            alert_message(settings, "after", "HIGH", "db"),
        ],
    )
    out = await read_topic(settings.kafka, settings.topics.alerts_matched, expected=1)
    matches = [codec.decode_match(m.value) for m in out]
    assert [(m.alert.alert_id, m.rule_ids) for m in matches] == [("after", (added.rule_id,))]
    dead = await read_topic(settings.kafka, Topics.dlq(topic), expected=1)
    assert [m.key for m in dead] == [b"poison"]
    headers = dict(dead[0].headers)
    assert headers["service"] == b"evaluator" and headers["source_topic"] == topic.encode()
    assert evaluator.terminate() == 0, evaluator.logs()


async def test_a_loaded_matcher_is_kept_out_of_the_collector_and_replaced_whole(
    env: dict[str, str],
) -> None:
    settings = config.load(env)
    client = aioredis.Redis.from_url(settings.redis_url)
    live = LiveRules(client, Keys(settings.redis_key_prefix))
    frozen_before = gc.get_freeze_count()
    try:
        await publish_rules(settings, [rule("acme", severity="HIGH")])
        assert await live.refresh()
        first = live.matcher
        assert first is not None and len(first) == 1
        # Frozen: full collections no longer walk the (large) index on every batch.
        assert gc.get_freeze_count() > frozen_before

        await publish_rules(settings, [rule("acme"), rule("globex")])
        assert await live.refresh()
        assert live.matcher is not first and live.matcher is not None
        assert len(live.matcher) == 2
        assert not await live.refresh(), "same version: nothing rebuilt"
    finally:
        gc.unfreeze()
        await client.aclose()
