"""The web layer's endpoint wrapper with an in-memory key store: who gets in where
(scopes), what every authentication failure answers, what a key store that cannot
answer means for each API, pluggable backends, bodies and request metrics."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response

from alerting.domain import api_keys
from alerting.services.ingest.web import key_store_down
from alerting.services.metrics.app import cannot_verify
from alerting.web.app import problem_app
from alerting.web.auth import Authenticator, Principal, Scope
from alerting.web.bearer import BearerTokenBackend, bearer_authenticator
from alerting.web.database_errors import database_problem
from alerting.web.endpoint import Endpoints, ErrorMapping, unmapped
from alerting.web.key_store import KeyScope, StoredKey
from alerting.web.request_metrics import RequestMetrics

ADMIN_TOKEN = "admin-token-for-tests"


@dataclass
class MemoryKeyStore:
    keys: dict[str, StoredKey] = field(default_factory=dict)
    touched: list[uuid.UUID] = field(default_factory=list)
    down: Exception | None = None

    def issue(self, scope: KeyScope, client_id: str | None = None, revoked: bool = False) -> str:
        key = api_keys.generate()
        self.keys[key.prefix] = StoredKey(uuid.uuid4(), key.secret_hash, scope, client_id, revoked)
        return key.token

    async def find(self, prefix: str) -> StoredKey | None:
        if self.down is not None:
            raise self.down
        return self.keys.get(prefix)

    async def touch(self, key_id: uuid.UUID) -> None:
        self.touched.append(key_id)


async def whoami(request: Request, caller: Principal, body: bytes) -> Response:
    return JSONResponse(
        {
            "kind": caller.kind,
            "client_id": caller.client_id,
            "body": body.decode(),
            "owner": caller.owner,
        }
    )


def app_for(
    store: MemoryKeyStore,
    requires: Sequence[Scope],
    *,
    unverifiable: ErrorMapping = unmapped,
    problem_for: ErrorMapping = unmapped,
    metrics: RequestMetrics | None = None,
    authenticator: Authenticator | None = None,
    max_body: int | None = None,
) -> httpx.AsyncClient:
    endpoints = Endpoints(
        authenticator or bearer_authenticator(ADMIN_TOKEN, store),
        requires,
        metrics=metrics,
        unverifiable=unverifiable,
        problem_for=problem_for,
    )
    route = endpoints.route("POST", "/things/{thing}", whoami, max_body=max_body)
    transport = httpx.ASGITransport(app=problem_app([route]))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ADMIN_ONLY = "this operation needs the admin token"
NOT_TENANT = "ingest keys may only post alerts"
NOT_INGEST = "client keys cannot post alerts; use an ingest key"
TENANT = (Scope.TENANT,)
RULE_SERVICE_ADMIN = (Scope.TENANT, Scope.ADMIN)
INGEST = (Scope.INGEST,)
METRICS = (Scope.ADMIN,)


@pytest.mark.parametrize(
    ("kind", "requires", "refusal"),
    [
        ("admin", TENANT, None),
        ("admin", RULE_SERVICE_ADMIN, None),
        ("admin", INGEST, None),
        ("admin", METRICS, None),
        ("client", TENANT, None),
        ("client", RULE_SERVICE_ADMIN, ADMIN_ONLY),
        ("client", INGEST, NOT_INGEST),
        ("client", METRICS, ADMIN_ONLY),
        ("ingest", TENANT, NOT_TENANT),
        ("ingest", RULE_SERVICE_ADMIN, NOT_TENANT),  # the first scope it lacks speaks
        ("ingest", INGEST, None),
        ("ingest", METRICS, ADMIN_ONLY),
    ],
)  # fmt: skip
async def test_scope_enforcement(kind: str, requires: Sequence[Scope], refusal: str | None) -> None:
    store = MemoryKeyStore()
    token = {
        "admin": ADMIN_TOKEN,
        "client": store.issue("client", "acme"),
        "ingest": store.issue("ingest"),
    }[kind]
    async with app_for(store, requires) as http:
        response = await http.post("/things/x", headers=bearer(token))
    if refusal is None:
        assert response.status_code == 200, response.text
        assert response.json()["kind"] == kind
    else:
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == refusal


async def test_an_api_key_caller_is_its_stored_key_and_its_use_is_noted() -> None:
    store = MemoryKeyStore()
    token = store.issue("client", "acme")
    async with app_for(store, TENANT) as http:
        response = await http.post("/things/x", headers=bearer(token))
    assert response.json() == {"kind": "client", "client_id": "acme", "body": "", "owner": "acme"}
    assert store.touched == [store.keys[token.split("_")[1]].key_id]


INVALID = "invalid or revoked token"


def _unauthenticated_cases(store: MemoryKeyStore) -> list[tuple[dict[str, str], str]]:
    live = store.issue("ingest")
    revoked = store.issue("ingest", revoked=True)
    missing = "missing Authorization: Bearer <token>"
    scheme = "Authorization must be: Bearer <token>"
    return [
        ({}, missing),
        ({"Authorization": ""}, missing),
        ({"Authorization": "Bearer"}, scheme),
        ({"Authorization": "Basic abc"}, scheme),
        # One answer for every wrong token: it must not tell an attacker whether a
        # prefix exists (unknown prefix vs wrong secret vs revoked key).
        (bearer("x" * 600), INVALID),
        (bearer("wrong-token"), INVALID),
        (bearer(api_keys.generate().token), INVALID),
        (bearer(revoked), INVALID),
        (bearer(live + "x"), INVALID),
        (bearer(live[:-4] + "abcd"), INVALID),
    ]


async def test_every_authentication_failure_is_a_401_problem_with_a_challenge() -> None:
    store = MemoryKeyStore()
    async with app_for(store, INGEST) as http:
        for headers, detail in _unauthenticated_cases(store):
            response = await http.post("/things/x", headers=headers)
            assert response.status_code == 401, headers
            assert response.json()["detail"] == detail, headers
            assert response.headers["www-authenticate"] == 'Bearer realm="alerting"'
            assert response.headers["content-type"] == "application/problem+json"
    assert store.touched == []


@pytest.mark.parametrize(
    ("unverifiable", "problem_for", "status", "detail", "retry_after"),
    [
        (unmapped, unmapped, 500, "internal error; see the service log", None),  # no policy
        (unmapped, database_problem, 503, "database unavailable", "1"),  # rule-service
        (key_store_down, unmapped, 503, "cannot check API keys right now", "1"),  # ingest
        (cannot_verify, unmapped, 503, "cannot verify the token right now", None),  # metrics
    ],
)  # fmt: skip
async def test_a_key_store_that_cannot_answer(
    unverifiable: ErrorMapping,
    problem_for: ErrorMapping,
    status: int,
    detail: str,
    retry_after: str | None,
) -> None:
    store = MemoryKeyStore()
    token = store.issue("ingest")
    store.down = ConnectionRefusedError("postgres is down")
    async with app_for(store, INGEST, unverifiable=unverifiable, problem_for=problem_for) as http:
        response = await http.post("/things/x", headers=bearer(token))
        admin = await http.post("/things/x", headers=bearer(ADMIN_TOKEN))
    assert (response.status_code, response.json()["detail"]) == (status, detail)
    assert response.headers.get("retry-after") == retry_after
    assert admin.status_code == 200  # the admin token needs no store


async def test_ingest_does_not_take_a_bug_for_a_key_store_outage() -> None:
    store = MemoryKeyStore(down=KeyError("a bug, not an outage"))
    async with app_for(store, INGEST, unverifiable=key_store_down) as http:
        response = await http.post("/things/x", headers=bearer(store.issue("ingest")))
    assert response.status_code == 500


@dataclass
class SessionCookieBackend:
    """What a browser-facing app would add: a caller known by a cookie."""

    async def authenticate(self, conn: HTTPConnection) -> Principal | None:
        if conn.cookies.get("session") == "acme-session":
            return Principal("client", "acme")
        return None


async def test_backends_are_pluggable_and_tried_in_order() -> None:
    store = MemoryKeyStore()
    authenticator = Authenticator(SessionCookieBackend(), BearerTokenBackend(ADMIN_TOKEN, store))
    async with app_for(store, TENANT, authenticator=authenticator) as http:
        by_cookie = await http.post("/things/x", headers={"Cookie": "session=acme-session"})
        by_token = await http.post("/things/x", headers=bearer(ADMIN_TOKEN))
        neither = await http.post("/things/x", headers={"Cookie": "session=stale"})
    assert by_cookie.json()["client_id"] == "acme"
    assert by_token.json()["kind"] == "admin"
    assert neither.status_code == 401


async def test_bodies_are_read_only_when_declared_and_bounded() -> None:
    store = MemoryKeyStore()
    async with app_for(store, INGEST, max_body=8) as http:
        small = await http.post("/things/x", headers=bearer(ADMIN_TOKEN), content=b"[1, 2]")
        large = await http.post("/things/x", headers=bearer(ADMIN_TOKEN), content=b"[1, 2, 3, 4]")
        text = await http.post(
            "/things/x",
            headers={**bearer(ADMIN_TOKEN), "Content-Type": "text/plain"},
            content=b"[]",
        )
    assert small.json()["body"] == "[1, 2]"
    assert (large.status_code, large.json()["detail"]) == (
        413,
        "request body is larger than 8 bytes",
    )
    assert text.status_code == 415
    async with app_for(store, INGEST) as http:
        ignored = await http.post("/things/x", headers=bearer(ADMIN_TOKEN), content=b"[1, 2, 3, 4]")
    assert ignored.json()["body"] == ""


async def test_requests_are_counted_by_route_template_and_status() -> None:
    registry = CollectorRegistry()
    metrics = RequestMetrics(
        Counter("t_requests_total", "t", ["method", "route", "status"], registry=registry),
        Histogram("t_request_seconds", "t", ["method", "route"], registry=registry),
    )
    store = MemoryKeyStore()
    async with app_for(store, TENANT, metrics=metrics) as http:
        await http.post("/things/a", headers=bearer(ADMIN_TOKEN))
        await http.post("/things/b", headers=bearer(ADMIN_TOKEN))
        await http.post("/things/c")
        await http.post("/things/d", headers=bearer(store.issue("ingest")))

    def count(status: str) -> Any:
        labels = {"method": "POST", "route": "/things/{thing}", "status": status}
        return registry.get_sample_value("t_requests_total", labels)

    assert (count("200"), count("401"), count("403")) == (2.0, 1.0, 1.0)
    latency = {"method": "POST", "route": "/things/{thing}"}
    assert registry.get_sample_value("t_request_seconds_count", latency) == 4.0


async def test_an_unexpected_error_is_a_bare_500_problem_and_routing_errors_are_problems() -> None:
    async def broken(request: Request, caller: Principal, body: bytes) -> Response:
        raise RuntimeError("secret detail")

    endpoints = Endpoints(bearer_authenticator(ADMIN_TOKEN, MemoryKeyStore()), TENANT)
    app = problem_app([endpoints.route("GET", "/broken", broken)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/broken", headers=bearer(ADMIN_TOKEN))
        nowhere = await http.get("/nowhere")
        wrong_method = await http.post("/broken")
    assert response.status_code == 500
    assert "secret" not in response.text
    assert response.json()["detail"] == "internal error; see the service log"
    assert (nowhere.status_code, nowhere.json()["detail"]) == (404, "no such route")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == "application/problem+json"


async def test_an_endpoint_requires_the_apis_scopes_unless_it_names_its_own() -> None:
    store = MemoryKeyStore()
    endpoints = Endpoints(bearer_authenticator(ADMIN_TOKEN, store), INGEST)
    app = problem_app(
        [
            endpoints.route("GET", "/alerts", whoami),
            endpoints.route("GET", "/rules", whoami, requires=TENANT),
        ]
    )
    client = bearer(store.issue("client", "acme"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        default = await http.get("/alerts", headers=client)
        own = await http.get("/rules", headers=client)
    assert (default.status_code, default.json()["detail"]) == (403, NOT_INGEST)
    assert own.status_code == 200
