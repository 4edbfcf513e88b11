"""The harness itself under pytest-xdist when the machine's Postgres and Redis do not
answer (a CI box without them): every worker starts private servers of its own, and
its database, Redis prefix, broker and ports are its own."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.e2e

PROBE = """
import json, os, socket
import psycopg, redis

def test_probe(database_url, redis_server, base_env, tmp_path_factory):
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert redis.Redis.from_url(redis_server).ping()
    worker = os.environ["PYTEST_XDIST_WORKER"]
    seen = {
        "database": database_url,
        "redis": redis_server,
        "prefix": base_env["ALERTING_REDIS_KEY_PREFIX"],
        "broker": base_env["ALERTING_KAFKA_BOOTSTRAP"],
    }
    (tmp_path_factory.getbasetemp().parent / f"{worker}.json").write_text(json.dumps(seen))
"""


def test_each_worker_gets_private_servers_when_the_machine_has_none(tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "test_a.py").write_text(PROBE)
    (probe / "test_b.py").write_text(PROBE)
    (probe / "pytest.ini").write_text("[pytest]\n")
    basetemp = tmp_path / "base"
    argv = ["-p", "no:cacheprovider", "-p", "tests.conftest", "-n", "2", "--dist", "loadfile"]
    # Bound, never listening: connections are refused and no server can take the port.
    with socket.socket() as nothing:
        nothing.bind(("127.0.0.1", 0))
        port = nothing.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", *argv, "--basetemp", str(basetemp), str(probe)],
            cwd=REPO,
            env={
                **os.environ,
                "PYTHONPATH": str(REPO),
                "ALERTING_TEST_POSTGRES_URL": f"postgresql://postgres@127.0.0.1:{port}",
                "ALERTING_TEST_REDIS_URL": f"redis://127.0.0.1:{port}/0",
            },
            capture_output=True,
            text=True,
            timeout=280,
        )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    seen = [json.loads(p.read_text()) for p in sorted(basetemp.glob("gw*.json"))]
    assert len(seen) == 2, done.stdout[-2000:]
    for key in ("database", "redis", "prefix", "broker"):
        assert seen[0][key] != seen[1][key], key
    assert all(f":{port}/" not in s["database"] + s["redis"] for s in seen)
