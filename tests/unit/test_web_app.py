"""The web layer's app: what holds for every answer, whoever wrote it.

The integration tests check the three APIs; this one reaches what they cannot: an
exception no endpoint caught (Starlette's last-resort 500).
"""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from alerting.web.app import problem_app


async def crash(_: Request) -> Response:
    raise RuntimeError("a secret detail")


async def text(_: Request) -> Response:
    return PlainTextResponse("<script>alert(1)</script>")


APP = problem_app([Route("/crash", crash), Route("/things", text)])


def client() -> httpx.AsyncClient:
    # Starlette re-raises after answering (so the log gets the trace); take the answer.
    transport = httpx.ASGITransport(APP, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://api.internal")


async def test_an_uncaught_exception_is_a_bare_500_problem_with_nosniff() -> None:
    async with client() as http:
        crashed = await http.get("/crash")
    assert crashed.status_code == 500
    assert crashed.headers["content-type"] == "application/problem+json"
    assert "secret" not in crashed.text
    assert crashed.headers["x-content-type-options"] == "nosniff"


async def test_any_answer_says_nosniff_and_another_spelling_is_a_404() -> None:
    async with client() as http:
        plain = await http.get("/things")
        slash = await http.get("/things/", headers={"Host": "attacker.example"})
    assert plain.headers["x-content-type-options"] == "nosniff"
    assert plain.headers.get_list("x-content-type-options") == ["nosniff"]
    assert slash.status_code == 404
    assert "location" not in slash.headers
    assert slash.headers["content-type"] == "application/problem+json"
    assert slash.headers["x-content-type-options"] == "nosniff"
