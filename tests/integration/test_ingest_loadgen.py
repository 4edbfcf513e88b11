"""Load generation against a real ingest process: jobs inside ingest, and the
`alerting loadgen` command posting through the API."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import httpx
import pytest

from alerting.config import Settings
from tests.integration.ingest_support import (
    admin_http,
    ingest,
    make_key,
    posted,
    topic_of,
    wait_for_job,
)
from tests.ports import free_port
from tests.processes import ServiceProcess

__all__ = ["admin_http", "ingest"]
pytestmark = pytest.mark.integration
JOBS = "/api/v1/loadgen/jobs"


def ids(seed: int, tag: str, count: int) -> list[str]:
    return [f"lg-{seed}-{tag}-{i:09d}" for i in range(count)]


async def test_a_job_with_a_count_produces_exactly_that_many(
    admin_http: httpx.AsyncClient, ingest: ServiceProcess, settings: Settings, unique: str
) -> None:
    job = {
        "rate": 400,
        "count": 120,
        "seed": 5,
        "tag": unique,
        "batch_size": 25,
        "severities": {"high": 1},
        "sources": {f"lg-{unique}": 1},
    }
    created = await admin_http.post(JOBS, json=job)
    assert created.status_code == 202, created.text
    status = await wait_for_job(admin_http, created.json()["job_id"])
    assert status["state"] == "completed", status
    assert (status["sent"], status["failed"], status["seed"], status["tag"]) == (120, 0, 5, unique)
    assert status["finished_at"] is not None and status["actual_rate"] > 0

    found = await posted(settings.kafka, topic_of(ingest), ids(5, unique, 120))
    assert sorted(k.decode() for k, _ in found) == ids(5, unique, 120)
    assert {(a.severity.value, a.source) for _, a in found} == {("HIGH", f"lg-{unique}")}
    listed = (await admin_http.get(JOBS)).json()["items"]
    assert status["job_id"] in [item["job_id"] for item in listed]


async def test_a_job_can_be_cancelled(admin_http: httpx.AsyncClient) -> None:
    created = await admin_http.post(JOBS, json={"rate": 20, "count": 1_000_000})
    job_id = created.json()["job_id"]
    cancelled = await admin_http.delete(f"{JOBS}/{job_id}")
    assert cancelled.status_code == 202
    assert cancelled.json()["state"] == "cancelled"
    status = (await admin_http.get(f"{JOBS}/{job_id}")).json()
    assert status["state"] == "cancelled"
    assert status["sent"] < 1_000_000
    again = await admin_http.delete(f"{JOBS}/{job_id}")
    assert again.status_code == 202 and again.json()["state"] == "cancelled"


async def test_a_duration_job_completes(admin_http: httpx.AsyncClient) -> None:
    created = await admin_http.post(JOBS, json={"rate": 50, "duration_s": 0.5})
    status = await wait_for_job(admin_http, created.json()["job_id"])
    assert status["state"] == "completed"
    assert status["sent"] >= 1 and status["failed"] == 0


async def test_job_errors(admin_http: httpx.AsyncClient) -> None:
    unbounded = await admin_http.post(JOBS, json={"rate": 10})
    assert unbounded.status_code == 422
    assert unbounded.json()["errors"][0]["field"] == "count"
    too_fast = await admin_http.post(JOBS, json={"rate": 10**9, "count": 1})
    assert too_fast.status_code == 422
    assert too_fast.json()["errors"][0]["field"] == "rate"
    not_json = await admin_http.post(
        JOBS, content=b"{", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    assert (await admin_http.get(f"{JOBS}/no-such-job")).status_code == 404
    assert (await admin_http.delete(f"{JOBS}/no-such-job")).status_code == 404


async def test_too_many_jobs_at_once_is_refused(admin_http: httpx.AsyncClient) -> None:
    started = []
    try:
        for _ in range(4):
            response = await admin_http.post(JOBS, json={"rate": 1, "count": 1000})
            assert response.status_code == 202
            started.append(response.json()["job_id"])
        refused = await admin_http.post(JOBS, json={"rate": 1, "count": 1000})
        assert refused.status_code == 429
        assert "at most 4" in refused.json()["detail"]
    finally:
        for job_id in started:
            await admin_http.delete(f"{JOBS}/{job_id}")


async def test_loadgen_needs_the_admin_token(
    admin_http: httpx.AsyncClient, ingest: ServiceProcess, settings: Settings
) -> None:
    """An ingest key posts alerts, but gets 403 on every load-generator route: it can
    neither start a job nor list, read or cancel the admin's."""
    created = await admin_http.post(JOBS, json={"rate": 1, "count": 1000})
    job_id = created.json()["job_id"]
    ingest_key = {"Authorization": f"Bearer {await make_key(settings, 'ingest')}"}
    try:
        async with httpx.AsyncClient(base_url=ingest.url, headers=ingest_key) as http:
            answers = {
                "POST": await http.post(JOBS, json={"rate": 50_000, "count": 10_000_000}),
                "GET list": await http.get(JOBS),
                "GET one": await http.get(f"{JOBS}/{job_id}"),
                "DELETE": await http.delete(f"{JOBS}/{job_id}"),
            }
            for route, answer in answers.items():
                assert answer.status_code == 403, (route, answer.status_code, answer.text)
                assert answer.headers["content-type"] == "application/problem+json"
                assert "admin token" in answer.json()["detail"], route
        assert (await admin_http.get(f"{JOBS}/{job_id}")).json()["state"] == "running"
    finally:
        await admin_http.delete(f"{JOBS}/{job_id}")


def loadgen(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alerting", "loadgen", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


async def test_the_loadgen_command_posts_through_the_api(
    ingest: ServiceProcess, base_env: dict[str, str], settings: Settings, unique: str
) -> None:
    args = ("--url", ingest.url, "--count", "50", "--seed", "7", "--tag", unique, "--rate", "500")
    done = await asyncio.to_thread(loadgen, *args, "--source", f"cli-{unique}", env=base_env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "done: 50 sent, 0 failed" in done.stdout
    found = await posted(settings.kafka, topic_of(ingest), ids(7, unique, 50))
    assert len(found) == 50
    assert {a.source for _, a in found} == {f"cli-{unique}"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--token", "wrong-token"), "HTTP 401 Unauthorized: invalid or revoked token"),
        (("--name", "*"), "'*' is a rule wildcard"),
        (("--severity", "HIGH=x"), "weight 'x' of 'HIGH' is not a number"),
    ],
)
async def test_loadgen_failures_are_one_line(
    ingest: ServiceProcess, base_env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    done = await asyncio.to_thread(
        loadgen, "--url", ingest.url, "--count", "5", *args, env=base_env
    )
    assert done.returncode != 0
    assert message in done.stderr.strip().splitlines()[-1]
    assert "Traceback" not in done.stderr


async def test_loadgen_against_nothing_says_so(base_env: dict[str, str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = await asyncio.to_thread(loadgen, "--url", url, "--count", "5", env=base_env)
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"alerting loadgen: cannot connect to {url}: ConnectError")


async def test_a_deeply_nested_job_request_is_a_400_with_no_traceback(
    admin_http: httpx.AsyncClient, ingest: ServiceProcess
) -> None:
    logged = ingest.log_path.stat().st_size
    response = await admin_http.post(JOBS, content=b"[" * 2000 + b"]" * 2000)
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == "request body nests deeper than 64 levels"
    with ingest.log_path.open("rb") as log:
        log.seek(logged)
        assert b"Traceback" not in log.read()


async def test_a_job_cannot_name_forging_sources(admin_http: httpx.AsyncClient) -> None:
    job = {"rate": 10, "count": 1, "sources": {"db\nrules: all": 1}}
    response = await admin_http.post(JOBS, json=job)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "sources"
    assert "U+000A" in response.json()["errors"][0]["message"]
