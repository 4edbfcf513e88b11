"""/readyz answers the verdict only; which check failed and why goes to the log, once per
change (issue 13, item 12: check details are not served unauthenticated)."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.applications import Starlette

from alerting.http import health_routes

SECRET = "could not connect to db.internal:5432 as user alerting"
LOGGED_DOWN = f"not ready: postgres: ConnectionError: {SECRET}"


def client_with(state: dict[str, bool]) -> httpx.AsyncClient:
    async def postgres() -> None:
        if not state["up"]:
            raise ConnectionError(SECRET)

    async def kafka() -> None:
        pass

    app = Starlette(routes=health_routes({"postgres": postgres, "kafka": kafka}))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://health")


async def test_ready_answers_the_status_only() -> None:
    async with client_with({"up": True}) as client:
        answer = await client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready"}


async def test_a_failing_check_is_503_without_naming_it_or_its_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="alerting.http"):
        async with client_with({"up": False}) as client:
            answer = await client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json() == {"status": "not ready"}
    assert SECRET not in answer.text and "postgres" not in answer.text
    assert [r.getMessage() for r in caplog.records] == [LOGGED_DOWN]


async def test_the_details_are_logged_once_per_change_not_per_probe(
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = {"up": True}
    statuses: list[int] = []
    with caplog.at_level(logging.INFO, logger="alerting.http"):
        async with client_with(state) as client:
            for up in (True, False, True):
                state["up"] = up
                statuses += [(await client.get("/readyz")).status_code for _ in range(3)]
    assert statuses == [200] * 3 + [503] * 3 + [200] * 3
    assert [r.getMessage() for r in caplog.records] == [
        LOGGED_DOWN,
        "ready again: every check passes",
    ]
