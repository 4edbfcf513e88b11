"""The metrics process against real Tansu and Postgres: lag, status counts, scrapes, auth."""

from __future__ import annotations

import asyncio
import http.server
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from alerting import config
from alerting.adapters.kafka import ensure_topics
from alerting.adapters.kafka.options import client_options, producer_options
from alerting.commands.topics import all_topics
from alerting.config import Settings
from alerting.domain import api_keys
from alerting.services.rule_service.repo import api_keys as key_repo
from tests.ports import free_port
from tests.processes import ServiceProcess, ServiceProcesses

pytestmark = pytest.mark.integration

PER_PARTITION = (10, 7, 4)  # messages produced to partitions 0, 1, 2 of alerts.new
COMMITTED = {0: 6, 1: 7}  # partition 2 never committed: all of it is lag
STATUSES = {"PENDING": 3, "SENDING": 1, "RETRY": 2, "SENT": 4, "FAILED": 1, "GROUPED": 2}

FAKE_METRICS = b"""\
# TYPE alerting_consumed_messages_total counter
alerting_consumed_messages_total{topic="a"} 40.0
alerting_consumed_messages_total{topic="b"} 2.0
# TYPE alerting_processed_messages_total counter
alerting_processed_messages_total{topic="a"} 39.0
# TYPE alerting_dead_lettered_messages_total counter
alerting_dead_lettered_messages_total{topic="a"} 1.0
"""


class _MetricsHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/metrics" else 404)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(FAKE_METRICS)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_service() -> Iterator[str]:
    """A service whose /metrics serves FAKE_METRICS (threaded: the test loop may block)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _MetricsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def metrics_env(
    base_env: dict[str, str], own_database: str, unique: str, fake_service: str
) -> dict[str, str]:
    """Own topics (exact offsets) and own database (exact counts) for this test."""
    topics = {
        name: f"mx{unique}.{name.removeprefix('ALERTING_TOPIC_').lower()}"
        for name in base_env
        if name.startswith("ALERTING_TOPIC_")
    }
    return {
        **base_env,
        **topics,
        "ALERTING_POSTGRES_DSN": own_database,
        "ALERTING_METRICS_TARGETS": f"evaluator={fake_service},"
        f"sender=http://127.0.0.1:{free_port()}",
    }


@pytest.fixture
def evaluator_group(unique: str) -> str:
    """The group whose lag the test sets. Not the default `alerting-evaluator`: on the
    session's broker a killed evaluator of an earlier test stays a member of that group
    (Tansu does not evict it within minutes), and the broker refuses a commit from
    outside a group that has members. The default names are in test_pipeline_metrics."""
    return f"mx{unique}-evaluator"


@pytest.fixture
def metrics_process(
    metrics_env: dict[str, str], evaluator_group: str, service_processes: ServiceProcesses
) -> ServiceProcess:
    args = ["--group", f"evaluator={evaluator_group}"]
    return service_processes.new("metrics", metrics_env, args)


@pytest.fixture
async def own_pg(metrics_env: dict[str, str]) -> AsyncIterator[asyncpg.Connection[Any]]:
    conn = await asyncpg.connect(metrics_env["ALERTING_POSTGRES_DSN"])
    try:
        yield conn
    finally:
        await conn.close()


async def produce(settings: Settings, *per_partition: int) -> None:
    producer = AIOKafkaProducer(**producer_options(settings.kafka))
    await producer.start()
    try:
        futures = [
            await producer.send(settings.topics.alerts_new, f"m{i}".encode(), partition=partition)
            for partition, count in enumerate(per_partition)
            for i in range(count)
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def produce_and_commit(settings: Settings, group: str) -> None:
    """PER_PARTITION messages on alerts.new; the evaluator's group commits COMMITTED."""
    await ensure_topics(settings.kafka, all_topics(settings))
    await produce(settings, *PER_PARTITION)
    topic = settings.topics.alerts_new
    # A manually assigned consumer commits for the group without joining it.
    consumer = AIOKafkaConsumer(
        **client_options(settings.kafka), group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(len(PER_PARTITION))])
        await consumer.commit({TopicPartition(topic, p): o for p, o in COMMITTED.items()})
    finally:
        await consumer.stop()


async def fill_database(conn: asyncpg.Connection[Any]) -> str:
    """Clients, rules, notifications of every status, one delivery; returns a client key."""
    await conn.execute("INSERT INTO clients (client_id, name) VALUES ('acme', 'Acme')")
    await conn.execute(
        "INSERT INTO rules (rule_id, client_id, severity, source, name, enabled) VALUES"
        " ($1, 'acme', 'HIGH', '*', '*', true), ($2, 'acme', 'LOW', 'db', '*', false)",
        uuid.uuid4(),
        uuid.uuid4(),
    )
    statuses = [status for status, n in STATUSES.items() for _ in range(n)]
    ids = [uuid.uuid4() for _ in statuses]
    await conn.execute(
        "INSERT INTO notifications (notification_id, client_id, alert_id, severity, source,"
        " name, event_ts, rule_ids, status)"
        " SELECT id, 'acme', id::text, 'HIGH', 's', 'n', now(), '{}', st"
        " FROM unnest($1::uuid[], $2::text[]) AS t(id, st)",
        ids,
        statuses,
    )
    await conn.execute(
        "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status)"
        " VALUES ($1, $2, 'webhook', 'SENT')",
        ids[statuses.index("SENT")],
        uuid.uuid4(),
    )
    key = api_keys.generate()
    await key_repo.insert(conn, uuid.uuid4(), key.prefix, key.secret_hash, "client", "acme", "")
    return key.token


async def pipeline_when(
    client: httpx.AsyncClient, done: Any, timeout: float = 45.0
) -> dict[str, Any]:
    """The report, polled until ``done(report)`` holds (the sampler runs every 5 s)."""
    deadline = asyncio.get_running_loop().time() + timeout
    body: dict[str, Any] = {}
    while asyncio.get_running_loop().time() < deadline:
        try:
            response = await client.get("/api/v1/pipeline")
        except httpx.TransportError:  # not listening yet
            await asyncio.sleep(0.3)
            continue
        if response.status_code == 200:
            body = response.json()
            if done(body):
                return body
        await asyncio.sleep(0.3)
    raise AssertionError(f"report never matched; last one: {body}")


async def test_pipeline_reports_lag_statuses_and_service_health(
    metrics_env: dict[str, str],
    metrics_process: ServiceProcess,
    evaluator_group: str,
    own_pg: asyncpg.Connection[Any],
) -> None:
    settings = config.load(metrics_env)
    await produce_and_commit(settings, evaluator_group)
    client_token = await fill_database(own_pg)
    metrics_process.start()
    admin = {"Authorization": f"Bearer {metrics_env['ALERTING_ADMIN_TOKEN']}"}
    produced = sum(PER_PARTITION)
    expected_lag = produced - sum(COMMITTED.values())

    async with httpx.AsyncClient(base_url=metrics_process.url, timeout=10) as client:

        def complete(report: dict[str, Any]) -> bool:
            evaluator = report["stages"][1]
            return evaluator["lag"] == expected_lag and report["services"]["evaluator"]["up"]

        async with httpx.AsyncClient(
            base_url=metrics_process.url, headers=admin, timeout=10
        ) as admin_client:
            report = await pipeline_when(admin_client, complete)
            await produce(settings, 5)

            def moved(later: dict[str, Any]) -> bool:
                ingest = later["stages"][0]
                return ingest["produced_total"] == produced + 5 and bool(ingest["produced_per_s"])

            later = await pipeline_when(admin_client, moved)
            assert later["rate_window_s"] > 0

        stages = {s["stage"]: s for s in report["stages"]}
        assert stages["ingest"]["produced_total"] == produced
        assert stages["evaluator"] | {"consumed_per_s": None} == {
            "stage": "evaluator",
            "group": evaluator_group,
            "topic": settings.topics.alerts_new,
            "produced_total": produced,
            "committed_total": sum(COMMITTED.values()),
            "lag": expected_lag,
            "consumed_per_s": None,
            "dlq_total": 0,
        }
        for stage in ("aggregator", "sender", "rule-updater"):
            assert (stages[stage]["lag"], stages[stage]["dlq_total"]) == (0, 0)
        assert report["notifications"] == STATUSES
        assert report["deliveries"] == {"SENT": 1, "FAILED": 0, "RETRY": 0, "GROUPED": 0}
        assert report["rules"] == {"total": 2, "enabled": 1}
        assert report["clients"] == 1
        assert report["services"]["evaluator"] == {
            "up": True,
            "consumed_total": 42,
            "processed_total": 39,
            "dead_lettered_total": 1,
            "failed_batches_total": 0,
        }
        assert report["services"]["sender"]["up"] is False
        assert report["services"]["sender"]["error"]
        assert report["errors"] == []

        missing = await client.get("/api/v1/pipeline")
        assert missing.status_code == 401
        assert missing.headers["content-type"] == "application/problem+json"
        wrong = await client.get("/api/v1/pipeline", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        tenant = await client.get(
            "/api/v1/pipeline", headers={"Authorization": f"Bearer {client_token}"}
        )
        assert tenant.status_code == 403
        assert tenant.json()["status"] == 403

    assert metrics_process.terminate() == 0


async def test_dependencies_down_still_answer_with_the_reasons(
    base_env: dict[str, str], fake_service: str, tmp_path: Path
) -> None:
    env = {
        **base_env,
        "ALERTING_POSTGRES_DSN": f"postgresql://postgres@127.0.0.1:{free_port()}/alerting",
        "ALERTING_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",
        "ALERTING_METRICS_TARGETS": f"evaluator={fake_service}",
    }
    proc = ServiceProcess("metrics", env, tmp_path).start(ready_timeout=None)
    try:
        admin = {"Authorization": f"Bearer {env['ALERTING_ADMIN_TOKEN']}"}
        async with httpx.AsyncClient(base_url=proc.url, headers=admin, timeout=10) as client:
            report = await pipeline_when(client, lambda r: len(r["errors"]) == 2)
            ready = await client.get("/readyz")
            key = await client.get(
                "/api/v1/pipeline", headers={"Authorization": f"Bearer {api_keys.generate().token}"}
            )
        assert sorted(e.split(":")[0] for e in report["errors"]) == ["kafka", "postgres"]
        assert report["notifications"] is None and report["clients"] is None
        assert all(stage["produced_total"] is None for stage in report["stages"])
        assert report["services"]["evaluator"]["up"] is True
        assert ready.status_code == 503
        assert key.status_code == 503  # an API key cannot be checked without Postgres
        assert proc.terminate() == 0
    finally:
        proc.kill()
