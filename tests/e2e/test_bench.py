"""`alerting bench --quick` at tiny sizes against the session's servers: every stage
runs for real and the result document is whole; the side-by-side case with a real
Alertmanager, likewise. Figures are never asserted on: a
benchmark measures, it does not pass or fail on speed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from alerting.bench import results
from tests.conftest import server_base

pytestmark = pytest.mark.e2e


def run_bench(
    base_env: dict[str, str], out: Path, *args: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """`alerting bench <args>` against the session's servers; its output and document."""
    done = subprocess.run(
        [sys.executable, "-m", "alerting", "bench", *args, "--out", str(out)],
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
    document: dict[str, Any] = json.loads(path.read_text())
    return done, document


def test_quick_bench_writes_every_figure_and_cleans_up(
    base_env: dict[str, str], tmp_path: Path
) -> None:
    done, document = run_bench(base_env, tmp_path / "results", "--quick", "--scale", "0.05")
    assert results.missing_keys(document) == []
    stages = {"matching", "evaluator", "aggregator", "sender", "e2e", "storm", "liveness"}
    assert stages <= document["stages"].keys()
    assert "alertmanager" not in document["stages"]  # a full run's case only
    assert document["machine"]["cores"] >= 1
    assert "ALERTING_ADMIN_TOKEN" not in document["settings"]
    # one progress line per step, and the run's own database is gone afterwards
    assert "end to end, max:" in done.stdout
    # the storm: every alert delivered in a few digests of one grouped rule
    [storm] = document["stages"]["storm"]
    assert storm["members_per_message"] * storm["messages"] == pytest.approx(100)
    assert document["storm_members_per_message"] == storm["members_per_message"]
    assert "storm: " in done.stdout and " members per digest" in done.stdout
    database = re.search(r"database (alerting_bench_\w+)", done.stdout)
    assert database is not None
    with psycopg.connect(f"{server_base(base_env['ALERTING_POSTGRES_DSN'])}/postgres") as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database.group(1),)
        ).fetchone()
    assert row is None


@pytest.mark.usefixtures("peer_binaries")
def test_side_by_side_bench_sends_the_same_alerts_through_alertmanager_and_the_platform(
    base_env: dict[str, str], tmp_path: Path
) -> None:
    argv = ["--only", "alertmanager", "--scale", "0.02"]
    done, document = run_bench(base_env, tmp_path / "results", *argv)
    am, platform, ratio = document["stages"]["alertmanager"]
    assert am["case"].startswith("Alertmanager 0.25") and am["items"] == 100
    assert platform["items"] == 100  # every alert delivered once, none twice
    assert ratio["ratio"] == pytest.approx(platform["per_s"] / am["per_s"], rel=0.01)
    assert document["platform_to_alertmanager_ratio"] == ratio["ratio"]
    assert document["alertmanager_p99_ms"] > 0 and document["platform_v2_p99_ms"] > 0
    assert "side by side, platform:" in done.stdout


def test_stored_bench_measures_the_same_cases_before_and_after_loading_history(
    base_env: dict[str, str], tmp_path: Path
) -> None:
    done, document = run_bench(
        base_env, tmp_path / "results", "--only", "stored", "--scale", "0.001"
    )
    cases = document["stages"]["stored"]
    phases = [(c["measure"], c["phase"]) for c in cases]
    assert phases == [
        (measure, phase)
        for measure in ("aggregator", "sender webhook", "sender email")
        for phase in ("empty", "stored", "ratio")
    ] + [("load", "load")]
    load = cases[-1]
    assert load["items"] == 10_000 and load["rows"] > 30_000 and load["bytes"] > 0
    assert document["stored_notifications"] == 10_000
    for c in cases:
        if c["phase"] == "ratio":
            assert document[f"stored_{c['measure'].replace(' ', '_')}_ratio"] == c["ratio"] > 0
        elif c["phase"] in ("empty", "stored"):
            # every notification stored or SENT (checked by the cases), timed on a share
            assert c["case"].startswith(("aggregator, 30 matches", "sender, 20 "))
            assert c["case"].endswith(c["phase"]) and c["items"] > 0 and c["per_s"] > 0
    # the history's progress, then every figure side by side in the table
    assert "history: 10,000 of 10,000 notifications (" in done.stdout
    assert "aggregator, stored / empty" in done.stdout
    assert "sender, 20 webhooks, stored" in done.stdout
