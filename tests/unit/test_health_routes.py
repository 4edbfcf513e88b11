"""/readyz answers the verdict only; which check failed and why goes to the log, once per
change (issue 13, item 12: check details are not served unauthenticated)."""

from __future__ import annotations

import logging

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from alerting.http import health_routes

SECRET = "could not connect to db.internal:5432 as user alerting"


def app_with(state: dict[str, bool]) -> TestClient:
    async def postgres() -> None:
        if not state["up"]:
            raise ConnectionError(SECRET)

    async def kafka() -> None:
        pass

    return TestClient(Starlette(routes=health_routes({"postgres": postgres, "kafka": kafka})))


def test_ready_answers_the_status_only() -> None:
    answer = app_with({"up": True}).get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready"}


def test_a_failing_check_is_503_without_naming_it_or_its_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="alerting.http"):
        answer = app_with({"up": False}).get("/readyz")
    assert answer.status_code == 503
    assert answer.json() == {"status": "not ready"}
    assert SECRET not in answer.text and "postgres" not in answer.text
    assert [r.getMessage() for r in caplog.records] == [
        f"not ready: postgres: ConnectionError: {SECRET}"
    ]


def test_the_details_are_logged_once_per_change_not_per_probe(
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = {"up": True}
    client = app_with(state)
    with caplog.at_level(logging.INFO, logger="alerting.http"):
        statuses = [client.get("/readyz").status_code for _ in range(3)]
        state["up"] = False
        statuses += [client.get("/readyz").status_code for _ in range(3)]
        state["up"] = True
        statuses += [client.get("/readyz").status_code for _ in range(3)]
    assert statuses == [200] * 3 + [503] * 3 + [200] * 3
    assert [r.getMessage() for r in caplog.records] == [
        f"not ready: postgres: ConnectionError: {SECRET}",
        "ready again: every check passes",
    ]
