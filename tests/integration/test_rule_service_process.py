"""`alerting rule-service` as a real process: ready with Postgres and the broker, rule
changes reach `rule.changed` through the outbox relay, clean exit on SIGTERM, and a
URL check that refuses private targets when private URLs are not allowed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from alerting.codec import decode_rule_change
from alerting.config import Settings
from alerting.domain.model import RuleAction
from tests.integration.rule_service_support import fresh_database
from tests.kafka_helpers import make_topic, read_topic
from tests.processes import ServiceProcess, ServiceProcesses

pytestmark = pytest.mark.integration


@pytest.fixture
async def process_env(
    base_env: dict[str, str], settings: Settings, unique: str
) -> AsyncIterator[dict[str, str]]:
    """Its own database: the relay publishes every unpublished outbox row it finds."""
    async with fresh_database(settings) as own:
        yield {
            **base_env,
            "ALERTING_POSTGRES_DSN": own.postgres_dsn,
            "ALERTING_TOPIC_RULE_CHANGED": f"rc-{unique}",
        }


@pytest.fixture
def rule_service(
    process_env: dict[str, str], service_processes: ServiceProcesses
) -> ServiceProcess:
    return service_processes.new("rule-service", process_env)


async def test_rule_changes_are_published_and_sigterm_exits_cleanly(
    settings: Settings, process_env: dict[str, str], rule_service: ServiceProcess, unique: str
) -> None:
    topic = process_env["ALERTING_TOPIC_RULE_CHANGED"]
    await make_topic(settings.kafka, topic)
    await asyncio.to_thread(rule_service.start)
    auth = {"Authorization": f"Bearer {settings.require_admin_token()}"}
    async with httpx.AsyncClient(base_url=rule_service.url, headers=auth) as http:
        ready = await http.get("/readyz")
        assert ready.status_code == 200  # the checks are logged, not served (issue 13, 12)
        assert ready.json() == {"status": "ready"}
        client = {"client_id": f"proc-{unique}", "name": "p"}
        assert (await http.post("/api/v1/clients", json=client)).status_code == 201
        rule = (
            await http.post(
                "/api/v1/rules",
                json={
                    "client_id": client["client_id"],
                    "severity": "LOW",
                    "source": "s",
                    "name": "n",
                },
            )
        ).json()
        patch = {"version": 1, "enabled": False}
        assert (await http.patch(f"/api/v1/rules/{rule['rule_id']}", json=patch)).status_code == 200

    records = await read_topic(settings.kafka, topic, expected=2)
    changes = [decode_rule_change(r.value) for r in records]
    assert [(c.rule_id, c.action, c.version) for c in changes] == [
        (rule["rule_id"], RuleAction.CREATED, 1),
        (rule["rule_id"], RuleAction.DISABLED, 2),
    ]
    assert records[0].key == rule["rule_id"].encode()

    code = await asyncio.to_thread(rule_service.terminate, 30.0)
    assert code == 0, rule_service.logs()
    assert "Traceback" not in rule_service.logs()
    assert "Unclosed" not in rule_service.logs()


async def test_private_urls_are_refused_unless_allowed(
    process_env: dict[str, str], tmp_path: Path, unique: str
) -> None:
    env = {**process_env, "ALERTING_ALLOW_PRIVATE_URLS": "false"}
    with ServiceProcess("rule-service", env, tmp_path) as proc:
        await asyncio.to_thread(proc.start)
        token = env["ALERTING_ADMIN_TOKEN"]
        async with httpx.AsyncClient(
            base_url=proc.url, headers={"Authorization": f"Bearer {token}"}
        ) as http:
            cid = f"urls-{unique}"
            await http.post("/api/v1/clients", json={"client_id": cid, "name": "u"})
            rule = (
                await http.post(
                    "/api/v1/rules",
                    json={"client_id": cid, "severity": "LOW", "source": "s", "name": "n"},
                )
            ).json()
            endpoints = f"/api/v1/rules/{rule['rule_id']}/endpoints"
            for url in (
                "http://127.0.0.1:8080/hook",
                "http://localhost/hook",
                "http://169.254.169.254/latest/meta-data",
                "http://[fd00:ec2::254]/",
                "http://10.1.2.3/",
                "http://[::ffff:127.0.0.1]/",
                "https://2130706433/",
            ):
                response = await http.post(endpoints, json={"type": "webhook", "value": url})
                assert response.status_code == 422, (url, response.text)
                assert response.json()["errors"][0]["field"] == "value"
            public = await http.post(
                endpoints, json={"type": "slack", "value": "https://93.184.215.14/services/x"}
            )
            assert public.status_code == 201, public.text
        assert await asyncio.to_thread(proc.terminate, 30.0) == 0
