"""Count quotas over real HTTP and Postgres (docs/quotas.md): rules per client,
endpoints per rule, active keys per client; the 409 names the quota, its limit and the
count; admins are held to the same limits; two creates at the limit never both pass."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from alerting.config import QuotaSettings, Settings
from alerting.services.rule_service.repo import quotas
from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, RunningService, start_service
from tests.pipeline_support import eventually

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"
LIMITS = QuotaSettings(
    rules_per_client=3,
    endpoints_per_rule=2,
    api_keys_per_client=2,
    ingest_alerts_per_s=1,
    ingest_burst=1000,
)
RULES = ("rules_per_client", LIMITS.rules_per_client)


@pytest.fixture(scope="module")
async def quota_service(
    rs_settings: Settings, rule_pool: asyncpg.Pool[Any]
) -> AsyncIterator[RunningService]:
    running = await start_service(dataclasses.replace(rs_settings, quotas=LIMITS), rule_pool)
    try:
        yield running
    finally:
        await running.close()


@pytest.fixture
def boss(quota_service: RunningService) -> Api:
    return Api(quota_service.base_url, quota_service.settings.require_admin_token())


async def tenant(boss: Api) -> tuple[str, Api]:
    """A new client and an Api using one of its keys (one of its key quota)."""
    client_id = f"q-{uuid.uuid4().hex[:10]}"
    await boss.ok("POST", "/api/v1/clients", 201, json={"client_id": client_id, "name": "Q"})
    key = await boss.ok("POST", f"/api/v1/clients/{client_id}/api-keys", 201, json={})
    return client_id, boss.as_token(key["token"])


def rule(client_id: str, name: str, **over: object) -> dict[str, object]:
    return {"client_id": client_id, "severity": "HIGH", "source": "s", "name": name, **over}


def assert_quota(response: Any, quota: str, limit: int, count: int) -> None:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"].endswith("/quota-exceeded")
    assert (body["quota"], body["limit"], body["count"]) == (quota, limit, count)
    assert quota in body["detail"] and str(limit) in body["detail"]


async def test_rules_per_client_hold_for_the_tenant_and_for_admins(boss: Api) -> None:
    client_id, api = await tenant(boss)
    created = [
        await api.ok("POST", "/api/v1/rules", 201, json=rule(client_id, "a")),
        await api.ok("POST", "/api/v1/rules", 201, json=rule(client_id, "b", enabled=False)),
        await boss.ok("POST", "/api/v1/rules", 201, json=rule(client_id, "c")),
    ]
    # A disabled rule counts: enabling it later must not need a quota check.
    assert_quota(await api.post("/api/v1/rules", json=rule(client_id, "d")), *RULES, 3)
    assert_quota(await boss.post("/api/v1/rules", json=rule(client_id, "d")), *RULES, 3)
    enabled = await api.ok(
        "PATCH", f"/api/v1/rules/{created[1]['rule_id']}", 200, json={"version": 1, "enabled": True}
    )
    assert enabled["enabled"] is True
    # Another tenant is not affected.
    other, other_api = await tenant(boss)
    await other_api.ok("POST", "/api/v1/rules", 201, json=rule(other, "a"))
    # Deleting one makes room again.
    await api.ok("DELETE", f"/api/v1/rules/{created[0]['rule_id']}", 204)
    await api.ok("POST", "/api/v1/rules", 201, json=rule(client_id, "d"))
    listed = await api.ok("GET", "/api/v1/rules", 200)
    assert len(listed["items"]) == 3


async def test_endpoints_per_rule(boss: Api) -> None:
    client_id, api = await tenant(boss)
    created = await api.ok("POST", "/api/v1/rules", 201, json=rule(client_id, "e"))
    path = f"/api/v1/rules/{created['rule_id']}/endpoints"
    first = await api.ok("POST", path, 201, json={"type": "email", "value": "a@example.com"})
    await api.ok("POST", path, 201, json={"type": "email", "value": "b@example.com"})
    third = {"type": "email", "value": "c@example.com"}
    assert_quota(await api.post(path, json=third), "endpoints_per_rule", 2, 2)
    assert_quota(await boss.post(path, json=third), "endpoints_per_rule", 2, 2)
    # A second rule has its own allowance.
    second = await api.ok("POST", "/api/v1/rules", 201, json=rule(client_id, "f"))
    await api.ok("POST", f"/api/v1/rules/{second['rule_id']}/endpoints", 201, json=third)
    await api.ok("DELETE", f"/api/v1/endpoints/{first['endpoint_id']}", 204)
    await api.ok("POST", path, 201, json=third)


async def test_active_keys_per_client_and_revoked_ones_do_not_count(boss: Api) -> None:
    client_id, api = await tenant(boss)  # its first key
    keys = f"/api/v1/clients/{client_id}/api-keys"
    second = await boss.ok("POST", keys, 201, json={"description": "rotation"})
    assert_quota(await boss.post(keys, json={}), "api_keys_per_client", 2, 2)
    await api.ok("DELETE", f"{keys}/{second['key_id']}", 204)
    await boss.ok("POST", keys, 201, json={})
    # Ingest keys belong to no client and are not counted.
    for _ in range(3):
        await boss.ok("POST", "/api/v1/api-keys", 201, json={"scope": "ingest"})


async def test_concurrent_creates_at_the_limit_never_both_pass(boss: Api, rs_pg: Any) -> None:
    client_id, api = await tenant(boss)
    answers = await asyncio.gather(
        *(api.post("/api/v1/rules", json=rule(client_id, f"r{i}")) for i in range(12))
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * 3 + [409] * 9, [a.text for a in answers]
    assert await rs_pg.fetchval("SELECT count(*) FROM rules WHERE client_id = $1", client_id) == 3


async def test_a_second_claim_waits_for_the_first_and_then_counts_its_row(
    boss: Api, rs_settings: Settings
) -> None:
    """The race made deterministic: the second transaction blocks on the parent's lock
    until the first commits, then sees its rule and refuses."""
    client_id, _ = await tenant(boss)
    first = await asyncpg.connect(rs_settings.postgres_dsn)
    second = await asyncpg.connect(rs_settings.postgres_dsn)
    try:
        first_tx = first.transaction()
        await first_tx.start()
        await quotas.claim(first, quotas.RULES_PER_CLIENT, client_id, 1)
        await first.execute(
            "INSERT INTO rules (rule_id, client_id, severity, source, name)"
            " VALUES ($1, $2, 'HIGH', 's', 'n')",
            uuid.uuid4(),
            client_id,
        )

        async def second_claim() -> None:
            async with second.transaction():
                await quotas.claim(second, quotas.RULES_PER_CLIENT, client_id, 1)

        waiting = asyncio.create_task(second_claim())
        pid = second.get_server_pid()

        async def blocked() -> bool:
            return bool(
                await first.fetchval(
                    "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid
                )
            )

        await eventually(blocked, 30, "the second claim waiting for the client's lock")
        assert not waiting.done()
        await first_tx.commit()
        with pytest.raises(quotas.QuotaExceeded) as refused:
            await asyncio.wait_for(waiting, 30)
        assert (refused.value.limit, refused.value.count) == (1, 1)
    finally:
        await first.close()
        await second.close()


async def test_openapi_documents_the_quota_answers(boss: Api) -> None:
    doc = await boss.ok("GET", "/openapi.json", 200)
    problem = doc["components"]["schemas"]["Problem"]["properties"]
    assert {"quota", "limit", "count"} <= set(problem)
    for path, method in [
        ("/api/v1/rules", "post"),
        ("/api/v1/rules/{rule_id}/endpoints", "post"),
        ("/api/v1/clients/{client_id}/api-keys", "post"),
    ]:
        answer = doc["paths"][path][method]["responses"]["409"]
        assert "quota" in answer["description"]
