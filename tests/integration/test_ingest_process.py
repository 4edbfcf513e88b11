"""ingest's lifecycle: it starts without Kafka (not ready, 503 with Retry-After, never
202), and SIGTERM with a load-generator job running exits 0 without a traceback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.integration.ingest_support import ingest
from tests.integration.rule_service_support import wait_healthy
from tests.ports import free_port
from tests.processes import ServiceProcess

__all__ = ["ingest"]
pytestmark = pytest.mark.integration


async def test_without_kafka_it_is_not_ready_and_never_answers_202(
    base_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**base_env, "ALERTING_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}"}
    with ServiceProcess("ingest", env, tmp_path) as proc:
        await asyncio.to_thread(proc.start, None)
        auth = {"Authorization": f"Bearer {env['ALERTING_ADMIN_TOKEN']}"}
        async with httpx.AsyncClient(base_url=proc.url, headers=auth, timeout=30) as http:
            await wait_healthy(proc.url)
            ready = await http.get("/readyz")
            assert ready.status_code == 503
            # Only the verdict is served (issue 13, item 12); the reason is in the log.
            assert ready.json() == {"status": "not ready"}
            alert = {"severity": "LOW", "source": "s", "name": "n"}
            refused = await http.post("/api/v1/alerts", json=alert)
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "1"
            assert refused.headers["content-type"] == "application/problem+json"
            job = await http.post("/api/v1/loadgen/jobs", json={"rate": 100, "count": 10})
            assert job.status_code == 202
            running = (await http.get(f"/api/v1/loadgen/jobs/{job.json()['job_id']}")).json()
            assert running["sent"] == 0
        assert await asyncio.to_thread(proc.terminate, 30.0) == 0
        assert "Traceback" not in proc.logs()
        assert "not ready: kafka: " in proc.logs()  # the reason, logged instead of served


async def test_sigterm_with_a_job_running_exits_cleanly(
    ingest: ServiceProcess, base_env: dict[str, str]
) -> None:
    auth = {"Authorization": f"Bearer {base_env['ALERTING_ADMIN_TOKEN']}"}
    async with httpx.AsyncClient(base_url=ingest.url, headers=auth, timeout=30) as http:
        created = await http.post("/api/v1/loadgen/jobs", json={"rate": 50, "count": 100_000})
        assert created.status_code == 202
        job_id = created.json()["job_id"]
        for _ in range(600):  # a first batch is sent at once; generous for a busy box
            status = (await http.get(f"/api/v1/loadgen/jobs/{job_id}")).json()
            if status["sent"] > 0:
                break
            await asyncio.sleep(0.05)
        assert status["sent"] > 0
    assert await asyncio.to_thread(ingest.terminate, 30.0) == 0
    logs = ingest.logs()
    assert "Traceback" not in logs
    assert "Unclosed" not in logs
    assert f"load-generator job {job_id} cancelled" in logs
