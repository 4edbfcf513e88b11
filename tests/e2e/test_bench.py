"""`alerting bench --quick` at tiny sizes against the session's servers: every stage
runs for real and the result document is whole. Figures are never asserted on: a
benchmark measures, it does not pass or fail on speed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from alerting.bench import results
from tests.conftest import server_base

pytestmark = pytest.mark.e2e


def test_quick_bench_writes_every_figure_and_cleans_up(
    base_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "results"
    argv = ["bench", "--quick", "--scale", "0.05", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "alerting", *argv],
        env={
            **os.environ,
            **base_env,
            "ALERTING_REDIS_KEY_PREFIX": f"{base_env['ALERTING_REDIS_KEY_PREFIX']}bench:",
        },
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [path] = out.glob("*.json")
    document = json.loads(path.read_text())
    assert results.missing_keys(document) == []
    stages = {"matching", "evaluator", "aggregator", "sender", "e2e", "liveness"}
    assert stages <= document["stages"].keys()
    assert document["machine"]["cores"] >= 1
    assert "ALERTING_ADMIN_TOKEN" not in document["settings"]
    # one progress line per step, and the run's own database is gone afterwards
    assert "end to end, max:" in done.stdout
    database = re.search(r"database (alerting_bench_\w+)", done.stdout)
    assert database is not None
    with psycopg.connect(f"{server_base(base_env['ALERTING_POSTGRES_DSN'])}/postgres") as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database.group(1),)
        ).fetchone()
    assert row is None
