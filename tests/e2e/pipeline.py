"""A whole platform of real processes for end-to-end tests, driven through its public APIs.

Each test gets its own database, topics, consumer groups, Redis keys and sinks, so
assertions about whole tables and every received request see only that test's work.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from alerting import config
from alerting.config import Settings
from tests.pipeline_support import CLIENT_LIMITS, create_topics, eventually, isolated_env
from tests.ports import free_port
from tests.processes import ServiceProcess

DATA_PLANE = ("rule-service", "rule-updater", "ingest", "evaluator", "aggregator", "sender")


@dataclass
class Tenant:
    client_id: str
    token: str
    rule_ids: list[str] = field(default_factory=list)
    # (rule_id, endpoint value) -> its signing secret (webhooks) or None (email)
    secrets: dict[tuple[str, str], str | None] = field(default_factory=dict)


class Pipeline:
    def __init__(
        self, base_env: dict[str, str], unique: str, dsn: str, log_dir: Path, **extra: str
    ) -> None:
        """``extra`` settings override the test defaults below (say, a longer lease)."""
        self.smtp_port = free_port()
        defaults = {
            "ALERTING_POSTGRES_DSN": dsn,
            "ALERTING_SMTP_PORT": str(self.smtp_port),
            "ALERTING_SENDER_BACKOFF_BASE_MS": "100",
            "ALERTING_SENDER_BACKOFF_MAX_MS": "1000",
            "ALERTING_SENDER_LEASE_S": "3",
            "ALERTING_SENDER_POLL_INTERVAL_MS": "200",
            "ALERTING_SENDER_RATE_PER_S": "100000",
            "ALERTING_SENDER_RATE_BURST": "100000",
            "ALERTING_RECONCILE_INTERVAL_S": "3600",
        }
        self.env = isolated_env(base_env, unique, **{**defaults, **extra})
        self.settings: Settings = config.load(self.env)
        self.log_dir = log_dir
        self.procs: dict[str, ServiceProcess] = {}
        self.sinks = ServiceProcess("sinks", self.env, log_dir)
        self.sinks.args = ["--http-port", str(self.sinks.port), "--smtp-port", str(self.smtp_port)]
        self.admin = {"Authorization": f"Bearer {self.settings.require_admin_token()}"}
        self.http = httpx.AsyncClient(timeout=30, limits=CLIENT_LIMITS)

    async def start(self, *names: str) -> None:
        await create_topics(self.env)
        if self.sinks.process is None:
            self.sinks.start()
        for name in names or DATA_PLANE:
            self.procs[name] = ServiceProcess(name, self.env, self.log_dir).start()

    def restart(
        self, name: str, ready_timeout: float | None = 60.0, **extra_env: str
    ) -> ServiceProcess:
        """Kill and start again (``ready_timeout`` None: do not wait for /readyz)."""
        old = self.procs[name]
        old.kill()
        proc = ServiceProcess(name, {**self.env, **extra_env}, self.log_dir)
        self.procs[name] = proc
        return proc.start(ready_timeout)

    async def close(self) -> None:
        await self.http.aclose()
        for proc in [*self.procs.values(), self.sinks]:
            proc.kill()

    def url(self, name: str) -> str:
        return self.procs[name].url

    @property
    def hook_base(self) -> str:
        return f"{self.sinks.url}/hooks"

    async def api(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else self.admin
        response = await self.http.request(
            method, f"{self.url('rule-service')}{path}", headers=headers, **kw
        )
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json() if response.content else None

    async def create_tenant(
        self,
        client_id: str,
        rules: list[tuple[str, str, str]],
        endpoints: list[tuple[str, str]],
        wait: float | None = None,
    ) -> Tenant:
        """A client with its own key; every rule gets every endpoint, as the client.
        With ``wait``, each rule is created with ``?wait=`` and must answer live."""
        await self.api("POST", "/api/v1/clients", json={"client_id": client_id, "name": client_id})
        key = await self.api("POST", f"/api/v1/clients/{client_id}/api-keys", json={})
        tenant = Tenant(client_id, key["token"])
        params = {} if wait is None else {"wait": wait}
        for severity, source, name in rules:
            body = {"client_id": client_id, "severity": severity, "source": source, "name": name}
            rule = await self.api("POST", "/api/v1/rules", tenant.token, json=body, params=params)
            assert wait is None or rule.get("live") is True, rule
            tenant.rule_ids.append(rule["rule_id"])
            for kind, value in endpoints:
                created = await self.api(
                    "POST",
                    f"/api/v1/rules/{rule['rule_id']}/endpoints",
                    tenant.token,
                    json={"type": kind, "value": value},
                )
                tenant.secrets[(rule["rule_id"], value)] = created.get("signing_secret")
        return tenant

    async def wait_rules_live(self, count: int) -> None:
        """Until the evaluator's index holds ``count`` rules (outbox -> updater -> Redis)."""

        async def loaded() -> bool:
            text = (await self.http.get(f"{self.url('evaluator')}/metrics")).text
            return f"alerting_evaluator_rules {float(count)}" in text

        await eventually(loaded, timeout=30, what=f"{count} rules in the evaluator")

    async def listed(self, path: str, token: str | None = None, **params: Any) -> list[Any]:
        """Every item of a paged list of rule-service, following ``next_cursor``."""
        items: list[Any] = []
        query = {"limit": 500, **params}
        while True:
            page = await self.api("GET", path, token, params=query)
            items.extend(page["items"])
            if not page["next_cursor"]:
                return items
            query = {**query, "cursor": page["next_cursor"]}

    async def matches_consumed(self) -> float:
        """How many alerts.matched messages the aggregator has processed (its metrics)."""
        text = (await self.http.get(f"{self.url('aggregator')}/metrics")).text
        return processed(text, self.settings.topics.alerts_matched)

    async def wait_matches_consumed(self, count: int) -> None:
        async def done() -> bool:
            return await self.matches_consumed() >= count

        await eventually(done, timeout=30, what=f"{count} matches consumed by the aggregator")

    async def post_alerts(self, alerts: list[dict[str, Any]]) -> list[str]:
        response = await self.http.post(
            f"{self.url('ingest')}/api/v1/alerts", headers=self.admin, json={"alerts": alerts}
        )
        assert response.status_code == 202, response.text
        ids: list[str] = response.json()["alert_ids"]
        return ids

    async def received(self, name: str) -> list[dict[str, Any]]:
        response = await self.http.get(f"{self.sinks.url}/received", params={"name": name})
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def emails(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await self.http.get(f"{self.sinks.url}/emails")).json()[
            "items"
        ]
        return items

    async def notifications(self) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.settings.postgres_dsn)
        try:
            return await conn.fetch(
                "SELECT notification_id::text AS id, client_id, alert_id, kind, episode,"
                " status, attempts, last_error FROM notifications"
                " ORDER BY client_id, alert_id, episode, kind"
            )
        finally:
            await conn.close()

    async def status_counts(self) -> dict[str, int]:
        conn = await asyncpg.connect(self.settings.postgres_dsn)
        try:
            rows = await conn.fetch("SELECT status, count(*) AS n FROM notifications GROUP BY 1")
        finally:
            await conn.close()
        return {r["status"]: r["n"] for r in rows}


def processed(metrics_text: str, topic: str) -> float:
    """A service's count of messages processed from ``topic``, from its /metrics text."""
    prefix = f'alerting_processed_messages_total{{topic="{topic}"}} '
    for line in metrics_text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix) :])
    return 0.0


@contextlib.asynccontextmanager
async def running(
    base_env: dict[str, str], unique: str, database: str, log_dir: Path, **extra: str
) -> AsyncIterator[Pipeline]:
    """A ``Pipeline`` closed however the test ends; ``extra`` overrides its settings."""
    p = Pipeline(base_env, unique, database, log_dir, **extra)
    try:
        yield p
    finally:
        await p.close()
