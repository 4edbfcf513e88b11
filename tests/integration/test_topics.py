from __future__ import annotations

import os
import subprocess
import sys

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from alerting.adapters.kafka.options import client_options
from alerting.config import Settings

pytestmark = pytest.mark.integration


def run_topics(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alerting", "topics"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_topics_creates_every_topic_and_dlq_once(
    base_env: dict[str, str], settings: Settings, unique: str
) -> None:
    env = {
        **base_env,
        "ALERTING_KAFKA_PARTITIONS": "4",
        "ALERTING_TOPIC_ALERTS_NEW": f"{unique}.alerts.new",
        "ALERTING_TOPIC_RULE_CHANGED": f"{unique}.rule.changed",
        "ALERTING_TOPIC_ALERTS_MATCHED": f"{unique}.alerts.matched",
        "ALERTING_TOPIC_NOTIFICATIONS_READY": f"{unique}.notifications.ready",
    }
    first = run_topics(env)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert sum(line.startswith("created ") for line in lines) == 8
    second = run_topics(env)
    assert second.returncode == 0, second.stderr
    assert sum(line.startswith("exists ") for line in second.stdout.splitlines()) == 8

    admin = AIOKafkaAdminClient(**client_options(settings.kafka))
    await admin.start()
    try:
        names = [
            f"{unique}.{base}{suffix}"
            for base in ("alerts.new", "rule.changed", "alerts.matched", "notifications.ready")
            for suffix in ("", ".dlq")
        ]
        described = await admin.describe_topics(names)
    finally:
        await admin.close()
    assert {d["topic"] for d in described} == set(names)
    assert all(len(d["partitions"]) == 4 for d in described)


def test_unreachable_broker_is_one_clear_line(base_env: dict[str, str]) -> None:
    done = run_topics({**base_env, "ALERTING_KAFKA_BOOTSTRAP": "127.0.0.1:1"})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("alerting topics: 127.0.0.1:1:")
