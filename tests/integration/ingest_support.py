"""Shared by the ingest tests: one real `alerting ingest` process on its own topic,
API keys made in SQL, and reading back the alerts a test posted by their ids."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

import asyncpg
import httpx
import pytest

from alerting import codec
from alerting.config import KafkaSettings, Settings
from alerting.domain import api_keys
from alerting.domain.model import Alert
from alerting.services.rule_service.repo import api_keys as key_repo
from tests.kafka_helpers import make_topic, read_topic
from tests.pipeline_support import eventually
from tests.processes import ServiceProcess

__all__ = ["admin_http", "ingest", "ingest_env", "make_key", "posted", "wait_for_job"]


async def ingest_env(base_env: dict[str, str], settings: Settings) -> dict[str, str]:
    """The session's settings with a private alerts topic: the session's alerts.new is
    consumed by the evaluator suites, which must not see (or count) the alerts these
    tests post."""
    topic = f"{base_env['ALERTING_TOPIC_ALERTS_NEW']}.ingest-{uuid.uuid4().hex[:8]}"
    await make_topic(settings.kafka, topic, partitions=3)
    return {**base_env, "ALERTING_TOPIC_ALERTS_NEW": topic}


@pytest.fixture(scope="module")
async def ingest(
    base_env: dict[str, str], settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceProcess]:
    env = await ingest_env(base_env, settings)
    with ServiceProcess("ingest", env, tmp_path_factory.mktemp("ingest")) as proc:
        await asyncio.to_thread(proc.start)
        yield proc


@pytest.fixture
async def admin_http(
    ingest: ServiceProcess, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the module's ingest process, with the admin token."""
    auth = {"Authorization": f"Bearer {settings.require_admin_token()}"}
    async with httpx.AsyncClient(base_url=ingest.url, headers=auth, timeout=30) as client:
        yield client


def topic_of(proc: ServiceProcess) -> str:
    return proc.env["ALERTING_TOPIC_ALERTS_NEW"]


async def make_key(
    settings: Settings,
    scope: str,
    client_id: str | None = None,
    label_mapping: dict[str, Any] | None = None,
) -> str:
    """A fresh API key (and its client, for a client key); returns the token.
    ``label_mapping`` is stored as the admin API stores it (an ingest key's override)."""
    key = api_keys.generate()
    conn = await asyncpg.connect(settings.postgres_dsn)
    try:
        if client_id is not None:
            await conn.execute(
                "INSERT INTO clients (client_id, name) VALUES ($1, $1)"
                " ON CONFLICT (client_id) DO NOTHING",
                client_id,
            )
        # jsonb as the services' pools encode it (alerting.adapters.postgres)
        await conn.set_type_codec(
            "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )
        await key_repo.insert(
            conn,
            uuid.uuid4(),
            key.prefix,
            key.secret_hash,
            scope,
            client_id,
            "ingest test",
            label_mapping,
        )
    finally:
        await conn.close()
    return key.token


async def posted(
    kafka: KafkaSettings, topic: str, ids: Iterable[str], timeout: float = 20.0
) -> list[tuple[bytes, Alert]]:
    """(key, alert) of every message on ``topic`` whose key is one of ``ids``.

    Acknowledged messages are already in the log, so reading up to what is there is
    enough; the expected count grows until every id is seen or the topic has no more.
    """
    wanted = set(ids)
    expected = len(wanted)
    deadline = time.monotonic() + timeout
    while True:
        records = await read_topic(kafka, topic, expected, max(1.0, deadline - time.monotonic()))
        mine = [(r.key or b"", r.value) for r in records if (r.key or b"").decode() in wanted]
        seen = {key.decode() for key, _ in mine}
        if seen == wanted or len(records) < expected or time.monotonic() > deadline:
            return [(key, codec.decode_alert(value)) for key, value in mine]
        expected = len(records) + len(wanted - seen)


async def wait_for_job(
    http: httpx.AsyncClient, job_id: str, timeout: float = 60.0
) -> dict[str, Any]:
    """The job's status once it is no longer running."""

    async def finished() -> dict[str, Any] | None:
        status: dict[str, Any] = (await http.get(f"/api/v1/loadgen/jobs/{job_id}")).json()
        return status if status["state"] != "running" else None

    result: dict[str, Any] = await eventually(finished, timeout, f"job {job_id} finished")
    return result
