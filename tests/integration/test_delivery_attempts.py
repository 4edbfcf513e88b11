"""The attempt log end to end: a real sender (Postgres, broker) calling local receivers
(the dev sinks over HTTP and SMTP, and a receiver that is slow or answers big or binary
bodies), then GET /api/v1/notifications/{id}/attempts on the rule-service API over the
same database: every call with its code, error, timing and answer excerpt, per tenant."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alerting.http import serve
from tests.integration.rule_service_support import Api, wait_healthy
from tests.integration.sender_support import (
    Sender,
    Sinks,
    add_endpoint,
    announce,
    insert_notification,
    reaches,
    seed_rule,
    sender,
    sender_api,
    sinks,
    webhook_rule,
)
from tests.ports import free_port

__all__ = ["sender", "sender_api", "sinks"]  # module fixtures from sender_support
pytestmark = pytest.mark.integration
# A 1 s HTTP timeout (the smallest setting), for the timeout case.
SENDER_ENV = {"ALERTING_SENDER_HTTP_TIMEOUT_S": "1"}

SINK_ANSWER = '{"received":true}'  # what the dev sinks answer every webhook
SLOW_S = 3.0  # the slow receiver's first answer: past the sender's 1 s timeout
BIG = "x" * 5000


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[str]:
    """Answers slowly the first time a path is called, then at once (``/slow/<name>``);
    a 5,000-character text body (``/big``); a binary one (``/binary``)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    calls: Counter[str] = Counter()

    async def slow(request: Request) -> Response:
        name = request.path_params["name"]
        calls[name] += 1
        if calls[name] == 1:
            await asyncio.sleep(SLOW_S)
        return Response(b"ok", media_type="text/plain")

    async def big(_: Request) -> Response:
        return Response(BIG.encode(), media_type="text/plain")

    async def binary(_: Request) -> Response:
        return Response(bytes(range(256)) * 8, media_type="application/octet-stream")

    async def healthz(_: Request) -> Response:
        return Response(b"ok")

    app = Starlette(
        routes=[
            Route("/slow/{name}", slow, methods=["POST"]),
            Route("/big", big, methods=["POST"]),
            Route("/binary", binary, methods=["POST"]),
            Route("/healthz", healthz),
        ]
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, "127.0.0.1", port, stop))
    await wait_healthy(url, task)
    try:
        yield url
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.fixture(scope="module")
def admin(sender_api: Api) -> Api:
    return sender_api


async def tenant(admin: Api) -> tuple[str, Api]:
    """A client created through the API, and an Api using its own key."""
    client_id = f"c-{uuid.uuid4().hex[:10]}"
    await admin.ok("POST", "/api/v1/clients", 201, json={"client_id": client_id, "name": "T"})
    key = await admin.ok("POST", f"/api/v1/clients/{client_id}/api-keys", 201, json={})
    return client_id, admin.as_token(key["token"])


async def delivered(sender: Sender, client_id: str, rule: str, status: str = "SENT") -> str:
    nid = await insert_notification(sender.pool, client_id, [rule])
    await announce(sender.settings, nid, client_id)
    await reaches(sender.pool, nid, status)
    return nid


async def attempts_of(api: Api, nid: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of the notification's attempts, followed by next_cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = await api.ok("GET", f"/api/v1/notifications/{nid}/attempts", 200, params=query)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def started(item: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(item["started_at"])


async def test_a_receiver_failing_twice_shows_three_attempts_and_other_tenants_get_404(
    sender: Sender, sinks: Sinks, admin: Api
) -> None:
    client_id, api = await tenant(admin)
    hook = f"twice-{client_id}"
    sinks.script(hook, 500, 503)
    rule, _ = await webhook_rule(sender.pool, client_id, sinks.hook(hook))
    endpoint_id = await sender.pool.fetchval(
        "SELECT endpoint_id::text FROM endpoints WHERE rule_id = $1", uuid.UUID(rule)
    )
    nid = await delivered(sender, client_id, rule)

    items = await attempts_of(api, nid, limit=2)  # two pages: the cursor is followed
    assert [
        (i["attempt"], i["outcome"], i["response_code"], i["error"], i["response_excerpt"])
        for i in items
    ] == [
        (1, "RETRY", 500, "HTTP 500", SINK_ANSWER),
        (2, "RETRY", 503, "HTTP 503", SINK_ANSWER),
        (3, "SENT", 200, None, SINK_ANSWER),
    ]
    assert {(i["endpoint_id"], i["endpoint_type"]) for i in items} == {(endpoint_id, "webhook")}
    assert started(items[0]) < started(items[1]) < started(items[2])
    received = [r["received_at"] for r in sinks.requests(hook)]
    for item, at in zip(items, received, strict=True):  # started just before it arrived
        assert 0 <= at - started(item).timestamp() < 5
        assert 0 <= item["duration_ms"] < 5000
    assert await attempts_of(admin, nid) == items  # the admin sees every tenant's

    _, other = await tenant(admin)
    gone = await other.get(f"/api/v1/notifications/{nid}/attempts")
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"
    assert (await other.get(f"/api/v1/notifications/{uuid.uuid4()}/attempts")).status_code == 404

    # A deleted (tombstoned) client's notification is gone for everyone, as its detail is.
    await admin.ok("DELETE", f"/api/v1/clients/{client_id}", 204)
    assert (await admin.get(f"/api/v1/notifications/{nid}/attempts")).status_code == 404


async def test_an_email_attempt_keeps_the_smtp_servers_reply(sender: Sender, admin: Api) -> None:
    client_id, api = await tenant(admin)
    rule = await seed_rule(sender.pool, client_id)
    endpoint_id = await add_endpoint(sender.pool, rule, "email", "ops@example.com")
    nid = await delivered(sender, client_id, rule)

    [item] = await attempts_of(api, nid)
    assert item["endpoint_id"] == endpoint_id and item["endpoint_type"] == "email"
    assert (item["attempt"], item["outcome"], item["response_code"]) == (1, "SENT", 250)
    assert (item["error"], item["response_excerpt"]) == (None, "250 OK")


async def test_a_timed_out_attempt_has_an_error_and_no_code(
    sender: Sender, admin: Api, receiver: str
) -> None:
    client_id, api = await tenant(admin)
    rule, _ = await webhook_rule(sender.pool, client_id, f"{receiver}/slow/{client_id}")
    nid = await delivered(sender, client_id, rule)

    first, second = await attempts_of(api, nid)
    assert (first["outcome"], first["response_code"], first["response_excerpt"]) == (
        "RETRY", None, None,
    )  # fmt: skip
    assert first["error"] == "timeout: no answer within 1 s"
    assert 900 <= first["duration_ms"] < SLOW_S * 1000  # the timeout, not the receiver
    assert (second["outcome"], second["response_code"], second["response_excerpt"]) == (
        "SENT", 200, "ok",
    )  # fmt: skip


async def test_the_excerpt_is_the_first_kb_of_a_text_answer_and_none_of_a_binary_one(
    sender: Sender, admin: Api, receiver: str
) -> None:
    client_id, api = await tenant(admin)
    rule = await seed_rule(sender.pool, client_id)
    for path in ("big", "binary"):
        await add_endpoint(sender.pool, rule, "webhook", f"{receiver}/{path}")
    nid = await delivered(sender, client_id, rule)

    paths = dict(
        await sender.pool.fetch(
            "SELECT endpoint_id::text, split_part(value, '/', 4) FROM endpoints WHERE rule_id = $1",
            uuid.UUID(rule),
        )
    )
    excerpts = {paths[i["endpoint_id"]]: i["response_excerpt"] for i in await attempts_of(api, nid)}
    assert excerpts == {"big": BIG[:1024], "binary": None}


async def test_a_bad_cursor_or_limit_is_a_422_naming_the_field(
    sender: Sender, sinks: Sinks, admin: Api
) -> None:
    client_id, api = await tenant(admin)
    rule, _ = await webhook_rule(sender.pool, client_id, sinks.hook(f"ok-{client_id}"))
    nid = await delivered(sender, client_id, rule)
    path = f"/api/v1/notifications/{nid}/attempts"
    # A cursor of another list (the notifications') is refused, not misread.
    await insert_notification(sender.pool, client_id, [rule])
    listed = await api.ok("GET", "/api/v1/notifications", 200, params={"limit": 1})
    for params, field in (({"cursor": listed["next_cursor"]}, "cursor"), ({"limit": 0}, "limit")):
        response = await api.get(path, params=params)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_the_route_and_its_fields_are_in_the_openapi_document(admin: Api) -> None:
    document = await admin.ok("GET", "/openapi.json", 200)
    route = document["paths"]["/api/v1/notifications/{notification_id}/attempts"]["get"]
    assert {p["name"] for p in route["parameters"]} >= {"notification_id", "limit", "cursor"}
    assert {"200", "404", "422"} <= set(route["responses"])
    schemas = document["components"]["schemas"]
    assert set(schemas["DeliveryAttemptPage"]["properties"]) == {"items", "next_cursor"}
    assert set(schemas["DeliveryAttempt"]["properties"]) == {
        "endpoint_id", "endpoint_type", "attempt", "started_at", "duration_ms", "outcome",
        "response_code", "error", "response_excerpt", "digest_id",
    }  # fmt: skip
