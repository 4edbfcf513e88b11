"""`alerting dev` as a user runs it: ready with demo details, and Ctrl-C leaves nothing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest

from alerting.domain import api_keys
from tests.conftest import drop_database
from tests.ports import free_port
from tests.processes import alive

pytestmark = pytest.mark.e2e
READY = "=== alerting dev is ready"


@dataclass
class DevRun:
    process: subprocess.Popen[str]
    dsn: str
    sink_port: int
    smtp_port: int
    data_dir: Path
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # A thread drains stdout so the child never blocks on a full pipe.
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def read_until(self, marker: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(marker in line for line in list(self.lines)):
                return True
            if self.process.poll() is not None and not self._reader.is_alive():
                return False
            time.sleep(0.05)
        return False

    def output(self) -> str:
        return "\n".join(self.lines)


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (children of children too)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@pytest.fixture
def dev(postgres_server: str, redis_server: str, tmp_path: Path) -> Iterator[DevRun]:
    database = f"alerting_dev_{uuid.uuid4().hex[:8]}"
    kafka_port, sink_port, smtp_port = (free_port() for _ in range(3))
    env = {
        **os.environ,
        "ALERTING_POSTGRES_DSN": f"{postgres_server}/{database}",
        "ALERTING_REDIS_URL": redis_server,
        "ALERTING_REDIS_KEY_PREFIX": f"dev-{database}:",
        "ALERTING_KAFKA_BOOTSTRAP": f"127.0.0.1:{kafka_port}",
        "ALERTING_SMTP_PORT": str(smtp_port),
        "ALERTING_ADMIN_TOKEN": "",
        "PYTHONUNBUFFERED": "1",
    }
    for name in (
        "RULE_SERVICE",
        "INGEST",
        "METRICS",
        "RULE_UPDATER",
        "EVALUATOR",
        "AGGREGATOR",
        "SENDER",
    ):
        env[f"ALERTING_{name}_PORT"] = str(free_port())
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "alerting",
            "dev",
            "--data-dir",
            str(tmp_path),
            "--sink-port",
            str(sink_port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    run = DevRun(process, f"{postgres_server}/{database}", sink_port, smtp_port, tmp_path)
    try:
        yield run
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        drop_database(postgres_server, database)


def test_dev_reaches_ready_prints_demo_and_ctrl_c_leaves_nothing(dev: DevRun) -> None:
    began = time.monotonic()
    assert dev.read_until(READY, 60), f"not ready within 60s:\n{dev.output()}"
    assert time.monotonic() - began < 60
    assert dev.read_until("Press Ctrl-C", 10), dev.output()
    out = dev.output()

    admin = re.search(r"Admin token \(generated\): (\S+)", out)
    key = re.search(r"Demo client 'demo' API key: (alk_\S+)", out)
    assert admin and len(admin.group(1)) >= 16
    assert key, out
    assert "curl -sS -X POST http://127.0.0.1:" in out and "/api/v1/alerts" in out

    # The console URL printed answers the page, told where ingest and metrics are, and
    # those two allow its origin (console_env).
    console = re.search(r"console +(http://127\.0\.0\.1:(\d+)/ui) ", out)
    assert console, out
    page = httpx.get(console.group(1), timeout=10)
    assert page.status_code == 200 and '<script type="module" src="/ui/app.js">' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    where = httpx.get(console.group(1) + "/config.json", timeout=10).json()
    origin = f"http://127.0.0.1:{console.group(2)}"
    for api in (where["ingest_url"], where["metrics_url"]):
        assert (
            api.startswith("http://127.0.0.1:") and api in page.headers["content-security-policy"]
        )
        preflight = httpx.options(
            api + "/api/v1/alerts",
            headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
            timeout=10,
        )
        assert preflight.headers.get("access-control-allow-origin") == origin, api

    # The demo tenant exists, with the key stored only as a hash.
    with psycopg.connect(dev.dsn) as conn:
        rule = conn.execute(
            "SELECT severity, source, name FROM rules WHERE client_id = 'demo'"
        ).fetchone()
        endpoint_types = {
            r[0]
            for r in conn.execute(
                "SELECT e.type FROM endpoints e JOIN rules r USING (rule_id)"
                " WHERE r.client_id = 'demo'"
            )
        }
        stored = conn.execute(
            "SELECT secret_hash FROM api_keys WHERE prefix = %s AND client_id = 'demo'",
            (api_keys.prefix_of(key.group(1)),),
        ).fetchone()
        outbox = conn.execute("SELECT count(*) FROM rule_outbox WHERE client_id='demo'").fetchone()
        hook_secret = conn.execute(
            "SELECT e.signing_secret FROM endpoints e JOIN rules r USING (rule_id)"
            " WHERE r.client_id = 'demo' AND e.type = 'webhook'"
        ).fetchone()
    assert rule == ("HIGH", "payments", "*")
    # Sealed with the key dev generated and keeps with its data (the sender opens it).
    assert hook_secret and hook_secret[0].startswith("v1:dev:")
    assert (dev.data_dir / "secret-keys").read_text().startswith("dev:")
    assert endpoint_types == {"webhook", "email"}
    assert stored and api_keys.matches(key.group(1), stored[0])
    assert outbox == (1,)

    # The README's curl, as printed: the alert reaches both demo endpoints.
    curl = re.search(r"curl -sS -X POST (\S+) \\\n.*?-d '(\{.*?\})'", out, re.S)
    assert curl, out
    posted = httpx.post(
        curl.group(1),
        headers={"Authorization": f"Bearer {admin.group(1)}"},
        content=curl.group(2),
        timeout=10,
    )
    assert posted.status_code == 202, posted.text
    alert_id = posted.json()["alert_ids"][0]
    sink = f"http://127.0.0.1:{dev.sink_port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        received = httpx.get(f"{sink}/received", params={"name": "demo"}).json()
        emails = httpx.get(f"{sink}/emails").json()
        if received["count"] and emails["count"]:
            break
        time.sleep(0.2)
    assert received["count"] == 1, (received, dev.output())
    body = received["items"][0]["body"]
    assert (body["alert_id"], body["client_id"], body["source"]) == (alert_id, "demo", "payments")
    assert emails["count"] == 1 and emails["items"][0]["rcpt_tos"] == ["oncall@demo.example"]

    ours = descendants(dev.process.pid)
    assert len(ours) >= 2, "expected at least the broker and the sinks under dev"
    dev.process.send_signal(signal.SIGINT)
    assert dev.process.wait(60) == 0
    dev.read_until("everything stopped", 5)
    time.sleep(0.5)
    assert [pid for pid in ours if alive(pid)] == [], dev.output()
    assert "everything stopped" in dev.output()


def test_a_dying_service_is_reported_by_name_with_its_last_lines(dev: DevRun) -> None:
    assert dev.read_until("Press Ctrl-C", 60), dev.output()
    ours = descendants(dev.process.pid)
    sinks = [
        pid
        for pid in ours
        if b"sinks" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[-5:][0:5][-1:]
        or b"sinks" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    assert sinks, "the sinks process runs under dev"
    os.kill(sinks[0], signal.SIGKILL)
    assert dev.process.wait(60) == 1
    dev.read_until("everything stopped", 5)
    out = dev.output()
    assert "service 'sinks' was killed by signal 9. Its last log lines:" in out
    assert "sinks: webhooks on http://127.0.0.1:" in out  # a line the service logged
    time.sleep(0.5)
    assert [pid for pid in ours if alive(pid)] == [], out
