"""Failed authentications against the real APIs: one 401 for every wrong token, 429 with
Retry-After once a source (any token) or a key prefix (wrong secrets only) is over its
limit, a bounded number of log lines (and never a token in them), and the forwarded
address trusted only as set."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from alerting.config import AuthThrottleSettings, Settings
from alerting.web.auth_guard import LOG_LINES_PER_WINDOW
from tests.integration.ingest_support import ingest_env, make_key
from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, NewClient, start_service
from tests.processes import ServiceProcess

pytestmark = pytest.mark.integration

GUARD_LOGGER = "alerting.web.auth_guard"


@pytest.fixture
async def strict(rs_settings: Settings, rule_pool: Any) -> AsyncIterator[Api]:
    """A rule-service of its own with low limits, behind one trusted proxy: each test
    calls from addresses of its own (X-Forwarded-For), as if from the internet."""
    policy = AuthThrottleSettings(
        failures_per_source=5, failures_per_prefix=12, window_s=600, trusted_proxy_hops=1
    )
    running = await start_service(dataclasses.replace(rs_settings, auth_throttle=policy), rule_pool)
    try:
        yield Api(running.base_url, rs_settings.require_admin_token())
    finally:
        await running.close()


def from_address(address: str, token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Forwarded-For": f"10.9.9.9, {address}"}


async def test_a_flood_of_wrong_tokens_is_throttled_and_logged_in_a_few_lines(
    strict: Api, new_client: NewClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=GUARD_LOGGER)
    _, tenant = await new_client("flood")
    assert tenant.token is not None
    prefix = tenant.token.split("_")[1]
    wrong_secret = f"alk_{prefix}_{'x' * 43}"
    unknown_prefix = f"alk_{uuid.uuid4().hex[:12]}_{'x' * 43}"
    attacker = "203.0.113.7"
    client = strict.client

    first = [
        await client.get("/api/v1/rules", headers=from_address(attacker, token))
        for token in (unknown_prefix, wrong_secret)
    ]
    assert [r.status_code for r in first] == [401, 401]
    assert first[0].json() == first[1].json()  # nothing tells a real prefix from a made-up one

    async def attempt(i: int) -> httpx.Response:
        token = f"alk_{uuid.uuid4().hex[:12]}_guess{i}"
        return await client.get("/api/v1/rules", headers=from_address(attacker, token))

    # 220 guesses, 20 at a time. The first batch may all be verified before the first
    # failure is counted (the limit leaks by the concurrency); they all count, though,
    # so every later guess is refused.
    flood: list[httpx.Response] = []
    for batch in range(11):
        flood += await asyncio.gather(*(attempt(batch * 20 + i) for i in range(20)))
    statuses = [r.status_code for r in flood]
    assert set(statuses[20:]) == {429}, statuses
    refused = flood[-1]
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["content-type"] == "application/problem+json"
    # The source is blocked as a whole, the right token included; other sources are not.
    blocked = await client.get("/api/v1/rules", headers=from_address(attacker, tenant.token))
    assert blocked.status_code == 429
    elsewhere = await client.get(
        "/api/v1/rules", headers=from_address("198.51.100.1", tenant.token)
    )
    assert elsewhere.status_code == 200

    lines = [r.getMessage() for r in caplog.records if r.name == GUARD_LOGGER]
    assert 1 <= len(lines) <= LOG_LINES_PER_WINDOW + 2, lines
    assert any(f"from {attacker}" in line for line in lines)
    text = "\n".join(lines)
    assert "x" * 43 not in text and "guess" not in text and "Bearer" not in text


async def test_a_key_prefix_is_throttled_across_addresses(
    strict: Api, new_client: NewClient
) -> None:
    _, tenant = await new_client("prefix")
    assert tenant.token is not None
    wrong = f"alk_{tenant.token.split('_')[1]}_wrong"
    client = strict.client
    statuses = []
    for i in range(15):  # 3 addresses x 5 failures: none over its own limit
        address = f"192.0.2.{i // 5 + 1}"
        statuses.append(
            (await client.get("/api/v1/rules", headers=from_address(address, wrong))).status_code
        )
    assert statuses[:12] == [401] * 12 and set(statuses[12:]) == {429}
    # The prefix is public, so its block must not lock the key's holder out: the right
    # secret still goes through, from a fresh address; wrong ones keep getting 429.
    holder = await client.get("/api/v1/rules", headers=from_address("192.0.2.50", tenant.token))
    assert holder.status_code == 200
    again = await client.get("/api/v1/rules", headers=from_address("192.0.2.51", wrong))
    assert again.status_code == 429 and int(again.headers["retry-after"]) >= 1


async def test_forwarded_addresses_are_not_trusted_by_default(
    rs_settings: Settings, rule_pool: Any
) -> None:
    """Without trusted hops, a caller cannot dodge its limit by inventing X-Forwarded-For."""
    policy = AuthThrottleSettings(failures_per_source=3, failures_per_prefix=100, window_s=60)
    running = await start_service(dataclasses.replace(rs_settings, auth_throttle=policy), rule_pool)
    try:
        async with httpx.AsyncClient(base_url=running.base_url, timeout=10) as client:
            statuses = [
                (
                    await client.get("/api/v1/rules", headers=from_address(f"192.0.2.{i}", "nope"))
                ).status_code
                for i in range(6)
            ]
    finally:
        await running.close()
    assert statuses == [401, 401, 401, 429, 429, 429]


async def test_ingest_throttles_failed_authentications(
    base_env: dict[str, str], settings: Settings, tmp_path: Any
) -> None:
    """Every API gets the guard: ingest here, as its own process with its settings."""
    env = await ingest_env(base_env, settings)
    env |= {"ALERTING_AUTH_FAILURES_PER_SOURCE": "4", "ALERTING_AUTH_FAILURE_WINDOW_S": "600"}
    token = await make_key(settings, "ingest")
    with ServiceProcess("ingest", env, tmp_path) as proc:
        await asyncio.to_thread(proc.start)
        async with httpx.AsyncClient(base_url=proc.url, timeout=30) as client:
            wrong = {"Authorization": f"Bearer {token[:-3]}zzz"}
            statuses = [
                (await client.post("/api/v1/alerts", headers=wrong, json=[])).status_code
                for _ in range(30)
            ]
            right = await client.post(
                "/api/v1/alerts", headers={"Authorization": f"Bearer {token}"}, json=[]
            )
        logs = proc.logs()
    assert statuses[:4] == [401] * 4 and set(statuses[4:]) == {429}
    assert right.status_code == 429 and int(right.headers["retry-after"]) >= 100
    assert "failed authentication from 127.0.0.1" in logs
    assert token[-10:] not in logs and "zzz" not in logs
