"""Alerts per second per ingest key on a real `alerting ingest` process: over the rate a
batch is a 429 problem with Retry-After and nothing of it is published; other keys and
the admin token go on; batches refused for a broker outage (503) cost no rate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from alerting.config import Settings
from alerting.dev.infra import free_port
from alerting.domain.label_mapping import fingerprint
from tests.integration.ingest_support import ingest_env, make_key, posted
from tests.integration.rule_service_support import wait_healthy
from tests.processes import ServiceProcess

pytestmark = pytest.mark.integration
ALERTS = "/api/v1/alerts"
BURST = 1000  # the smallest bucket allowed: one full batch


@pytest.fixture(scope="module")
async def limited(
    base_env: dict[str, str], settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceProcess]:
    env = {
        **await ingest_env(base_env, settings),
        # 1 alert/s: once the burst is spent, nothing refills within the test.
        "ALERTING_QUOTA_INGEST_ALERTS_PER_S": "1",
        "ALERTING_QUOTA_INGEST_BURST": str(BURST),
    }
    with ServiceProcess("ingest", env, tmp_path_factory.mktemp("ingest-rate")) as proc:
        await asyncio.to_thread(proc.start)
        yield proc


def batch(prefix: str, count: int) -> dict[str, object]:
    return {
        "alerts": [
            {"alert_id": f"{prefix}-{i}", "severity": "LOW", "source": "rate", "name": "n"}
            for i in range(count)
        ]
    }


async def test_a_key_over_its_rate_gets_429_and_nothing_is_published(
    limited: ServiceProcess, settings: Settings, unique: str
) -> None:
    topic = limited.env["ALERTING_TOPIC_ALERTS_NEW"]
    key, other_key = await make_key(settings, "ingest"), await make_key(settings, "ingest")
    admin = {"Authorization": f"Bearer {settings.require_admin_token()}"}
    async with httpx.AsyncClient(base_url=limited.url, timeout=30) as http:

        async def post(token_headers: dict[str, str], body: dict[str, object]) -> httpx.Response:
            return await http.post(ALERTS, json=body, headers=token_headers)

        as_key = {"Authorization": f"Bearer {key}"}
        full = await post(as_key, batch(f"full-{unique}", BURST))
        assert full.status_code == 202, full.text

        refused = await post(as_key, batch(f"over-{unique}", 5))
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert int(refused.headers["Retry-After"]) >= 5  # 5 alerts at 1/s
        problem = refused.json()
        assert problem["type"].endswith("/rate-limited")
        assert (problem["quota"], problem["limit"], problem["burst"]) == (
            "ingest_alerts_per_s",
            1,
            BURST,
        )

        # Another key has its own bucket; the admin token has none.
        other = await post({"Authorization": f"Bearer {other_key}"}, batch(f"other-{unique}", 5))
        assert other.status_code == 202, other.text
        for round_ in range(2):
            answer = await post(admin, batch(f"admin-{round_}-{unique}", BURST))
            assert answer.status_code == 202, answer.text

    over_ids = [f"over-{unique}-{i}" for i in range(5)]
    other_ids = [f"other-{unique}-{i}" for i in range(5)]
    found = await posted(settings.kafka, topic, [*over_ids, *other_ids])
    assert sorted(k.decode() for k, _ in found) == sorted(other_ids)


async def test_batches_refused_for_a_broker_outage_cost_no_rate(
    base_env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    """A client retrying one full burst through an outage gets 503 each time, never 429:
    a batch the broker did not accept gives its tokens back."""
    env = {
        **base_env,
        "ALERTING_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",  # no broker there
        "ALERTING_QUOTA_INGEST_ALERTS_PER_S": "1",
        "ALERTING_QUOTA_INGEST_BURST": str(BURST),
    }
    key = await make_key(settings, "ingest")
    with ServiceProcess("ingest", env, tmp_path) as proc:
        await asyncio.to_thread(proc.start, None)  # never ready without a broker
        await wait_healthy(proc.url)
        async with httpx.AsyncClient(base_url=proc.url, timeout=30) as http:
            statuses = [
                (
                    await http.post(
                        ALERTS,
                        json=batch(f"outage-{attempt}", BURST),
                        headers={"Authorization": f"Bearer {key}"},
                    )
                ).status_code
                for attempt in range(3)
            ]
    assert statuses == [503, 503, 503]


async def test_prometheus_and_alertmanager_posts_draw_on_the_same_bucket(
    limited: ServiceProcess, settings: Settings, unique: str
) -> None:
    """One rate per key whatever the route: alerts posted by Prometheus (API v2) and by
    an Alertmanager webhook are counted like native ones, and refused alike."""
    topic = limited.env["ALERTING_TOPIC_ALERTS_NEW"]
    key = await make_key(settings, "ingest")
    as_key = {"Authorization": f"Bearer {key}"}
    half = BURST // 2
    prometheus = [{"labels": {"alertname": f"p{i}", "job": unique}} for i in range(half)]
    webhook = {"alerts": [{"labels": {"alertname": f"w{i}", "job": unique}} for i in range(half)]}
    over = [{"labels": {"alertname": "over", "job": unique}}]
    async with httpx.AsyncClient(base_url=limited.url, timeout=30) as http:
        spent = await http.post("/api/v2/alerts", json=prometheus, headers=as_key)
        assert spent.status_code == 202, spent.text
        spent = await http.post("/api/v1/integrations/alertmanager", json=webhook, headers=as_key)
        assert spent.status_code == 202, spent.text
        refused = await http.post("/api/v2/alerts", json=over, headers=as_key)
        assert refused.status_code == 429, refused.text
        assert refused.json()["type"].endswith("/rate-limited")
        refused = await http.post(ALERTS, json=batch(f"native-{unique}", 1), headers=as_key)
        assert refused.status_code == 429, refused.text
    over_id = fingerprint(over[0]["labels"])
    assert await posted(settings.kafka, topic, [over_id, f"native-{unique}-0"], 3) == []
