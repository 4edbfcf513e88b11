"""What the HTTP APIs say on every answer, found by hand-made requests (issue 13, item 11):
nosniff everywhere, no-store on secrets, no redirect built from the Host header, and
list cursors a client cannot forge.

rule-service runs in this process (uvicorn on a free port); ingest and metrics are real
processes.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.integration.ingest_support import admin_http, ingest
from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, NewClient
from tests.ports import free_port
from tests.processes import ServiceProcess, ServiceProcesses

__all__ = ["admin_http", "ingest"]
pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"
EVIL_HOST = "attacker.example"


def assert_nosniff(*answers: httpx.Response) -> None:
    for answer in answers:
        where = (answer.request.method, str(answer.request.url), answer.status_code)
        assert answer.headers.get("x-content-type-options") == "nosniff", where


def assert_no_redirect(answer: httpx.Response) -> None:
    """The other spelling of a route is a 404 problem, with nothing pointing elsewhere."""
    assert answer.status_code == 404, (answer.status_code, answer.headers.get("location"))
    assert "location" not in answer.headers
    assert answer.headers["content-type"] == PROBLEM
    assert EVIL_HOST not in answer.text


@pytest.fixture
async def metrics(
    base_env: dict[str, str], service_processes: ServiceProcesses
) -> AsyncIterator[ServiceProcess]:
    """A metrics process that scrapes nothing real (a free port) and answers at once."""
    env = {**base_env, "ALERTING_METRICS_TARGETS": f"evaluator=http://127.0.0.1:{free_port()}"}
    yield service_processes.new("metrics", env).start()


# -- nosniff on every answer -------------------------------------------------------------


async def test_every_rule_service_answer_says_nosniff(admin: Api) -> None:
    anonymous = admin.as_token(None)
    assert_nosniff(
        await admin.get("/api/v1/clients"),
        await admin.post("/api/v1/clients", json={}),  # 422 problem
        await admin.post("/api/v1/clients", content=b"{", headers={"Content-Type": "x/y"}),
        await anonymous.get("/api/v1/clients"),  # 401
        await admin.get(f"/api/v1/rules/{uuid.uuid4()}"),  # 404 from a handler
        await admin.get("/api/v1/nothing"),  # 404 from routing
        await admin.request("PUT", "/api/v1/clients"),  # 405
        await admin.get("/openapi.json"),
        await anonymous.get("/healthz"),
        await anonymous.get("/readyz"),
        await anonymous.get("/metrics"),
    )


async def test_every_ingest_answer_says_nosniff(
    admin_http: httpx.AsyncClient, ingest: ServiceProcess
) -> None:
    alert = {"severity": "LOW", "source": "nosniff", "name": "n"}
    async with httpx.AsyncClient(base_url=ingest.url) as anonymous:
        assert_nosniff(
            await admin_http.post("/api/v1/alerts", json=alert),  # 202
            await admin_http.post("/api/v1/alerts", json={"severity": "x"}),  # 422
            await anonymous.post("/api/v1/alerts", json=alert),  # 401
            await admin_http.get("/api/v1/alerts"),  # 405
            await admin_http.get("/api/v1/nothing"),  # 404
            await admin_http.get("/api/v1/loadgen/jobs"),
            await anonymous.get("/healthz"),
            await anonymous.get("/readyz"),
            await anonymous.get("/metrics"),
        )


async def test_every_metrics_answer_says_nosniff(
    metrics: ServiceProcess, base_env: dict[str, str]
) -> None:
    admin = {"Authorization": f"Bearer {base_env['ALERTING_ADMIN_TOKEN']}"}
    async with httpx.AsyncClient(base_url=metrics.url, timeout=10) as http:
        assert_nosniff(
            await http.get("/api/v1/pipeline", headers=admin),  # 200 or 503 before a sample
            await http.get("/api/v1/pipeline"),  # 401
            await http.post("/api/v1/pipeline", headers=admin),  # 405
            await http.get("/api/v1/nothing"),  # 404
            await http.get("/healthz"),
            await http.get("/readyz"),
            await http.get("/metrics"),
        )


# -- no redirect reflecting the Host header ----------------------------------------------


async def test_no_api_redirects_to_the_host_header(
    admin: Api, admin_http: httpx.AsyncClient, metrics: ServiceProcess
) -> None:
    evil = {"Host": EVIL_HOST}
    assert_no_redirect(await admin.get("/api/v1/rules/", headers=evil))
    assert_no_redirect(await admin.post("/api/v1/clients/", headers=evil, json={}))
    alert = {"severity": "LOW", "source": "redirect", "name": "n"}
    assert_no_redirect(await admin_http.post("/api/v1/alerts/", headers=evil, json=alert))
    assert_no_redirect(await admin_http.get("/api/v1/loadgen/jobs/", headers=evil))
    token = admin.token or ""
    async with httpx.AsyncClient(base_url=metrics.url, timeout=10) as http:
        auth = {**evil, "Authorization": f"Bearer {token}"}
        assert_no_redirect(await http.get("/api/v1/pipeline/", headers=auth))


# -- no-store on answers that carry a secret ---------------------------------------------


async def test_answers_carrying_a_secret_are_not_stored(admin: Api, new_client: NewClient) -> None:
    client_id, api = await new_client()
    client_key = await admin.post(f"/api/v1/clients/{client_id}/api-keys", json={})
    ingest_key = await admin.post("/api/v1/api-keys", json={"scope": "ingest"})
    rule = await api.ok(
        "POST",
        "/api/v1/rules",
        201,
        json={"client_id": client_id, "severity": "HIGH", "source": "s", "name": "*"},
    )
    of_rule = f"/api/v1/rules/{rule['rule_id']}/endpoints"
    webhook = await api.post(of_rule, json={"type": "webhook", "value": "http://127.0.0.1:9/h"})
    one = f"/api/v1/endpoints/{webhook.json()['endpoint_id']}"
    secrets = {
        "client key": client_key,
        "ingest key": ingest_key,
        "webhook endpoint (signing secret)": webhook,
        "endpoint (value)": await api.get(one),
        "endpoints (values)": await api.get(of_rule),
        "changed endpoint (value)": await api.patch(one, json={"enabled": False}),
    }
    for what, answer in secrets.items():
        assert answer.status_code < 300, (what, answer.text)
        assert answer.headers.get("cache-control") == "no-store", what
    assert "token" in client_key.json() and "token" in ingest_key.json()
    assert webhook.json()["signing_secret"]
    assert "cache-control" not in (await api.get("/api/v1/rules")).headers


# -- cursors carry a MAC -----------------------------------------------------------------


def _text_of(token: str) -> str:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()


def _token_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def test_a_forged_or_altered_cursor_is_422(admin: Api, new_client: NewClient) -> None:
    """The cursor format is public, so a client can point it at any position and
    recompute an unkeyed check; only a MAC under the service's key stops that."""
    for _ in range(3):
        await new_client("cursor")
    page = await admin.ok("GET", "/api/v1/clients", 200, params={"limit": 1})
    real = page["next_cursor"]
    assert (await admin.get("/api/v1/clients", params={"cursor": real})).status_code == 200

    body, _, check = _text_of(real).rpartition("|")
    head, _, _ = body.rpartition("|")
    forged_body = f"{head}|{'~' * 8}"  # a position the service never handed out
    digest = hashlib.blake2s(forged_body.encode(), digest_size=len(check) // 2).hexdigest()
    forged = _token_of(f"{forged_body}|{digest}")
    altered = _token_of(f"{body[:-1]}{chr(ord(body[-1]) ^ 1)}|{check}")
    for token in (forged, altered):
        answer = await admin.get("/api/v1/clients", params={"cursor": token})
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == PROBLEM
        problem = answer.json()
        assert [e["field"] for e in problem["errors"]] == ["cursor"]
        assert "not issued by this service" in problem["detail"], problem
