"""The shared body reading bounds JSON nesting before any parser runs: the depth scan
itself, and what the endpoint wrapper answers for a deep body (a 400 naming the limit,
no traceback) where a handler parsing it with ``json`` would have failed with a 500."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from alerting.web.app import problem_app
from alerting.web.auth import Principal, Scope
from alerting.web.bearer import bearer_authenticator
from alerting.web.body import MAX_BODY_DEPTH, nests_deeper
from alerting.web.endpoint import Endpoints
from alerting.web.key_store import StoredKey

ADMIN_TOKEN = "admin-token-for-body-tests"
TOO_DEEP = f"request body nests deeper than {MAX_BODY_DEPTH} levels"


def arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def objects(depth: int) -> bytes:
    return b'{"k":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("nest", [arrays, objects])
def test_the_limit_itself_passes_and_one_more_level_does_not(
    nest: Callable[[int], bytes],
) -> None:
    assert not nests_deeper(nest(MAX_BODY_DEPTH))
    assert nests_deeper(nest(MAX_BODY_DEPTH + 1))
    assert nests_deeper(nest(2000))


def test_many_shallow_structures_are_not_deep() -> None:
    batch = {"alerts": [{"name": "n", "context": {"k": "v"}} for _ in range(1000)]}
    assert not nests_deeper(json.dumps(batch).encode())


@pytest.mark.parametrize(
    "text",
    [
        '"' + "[" * 200 + '"',  # brackets inside a string do not count
        '["' + "{" * 200 + '"]',
        '["\\"' + "[" * 200 + '"]',  # an escaped quote does not end the string
        '["\\\\\\"[[[' + "[" * 200 + '"]',  # nor does one after an escaped backslash
        '{"a\\\\": "' + "[" * 200 + '"}',  # an escaped backslash then the closing quote
        '["' + "[" * 200 + '","' + "]" * 200 + '",""]',  # strings side by side
        '[["]", "[", "", "{"]]',
    ],
)
def test_brackets_in_strings_do_not_count(text: str) -> None:
    assert json.loads(text) is not None  # each is valid JSON
    assert not nests_deeper(text.encode(), limit=2)
    assert nests_deeper(f"[{text}]".encode(), limit=2) is text.startswith("[[")


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100,  # never closed: a parser still recurses 100 times before failing
        b'"\\\\"' + b"[" * 100,  # a string ending in an escaped backslash, then arrays
        b'["' + b"]" * 5 + b'"' + b"[" * 100,  # string brackets do not offset real ones
    ],
)
def test_deep_text_that_is_not_json_is_deep(raw: bytes) -> None:
    assert nests_deeper(raw)


class NoKeys:
    async def find(self, prefix: str) -> StoredKey | None:
        return None

    async def touch(self, key_id: uuid.UUID) -> None:
        return None


async def parses(request: Request, caller: Principal, body: bytes) -> Response:
    """A handler parsing its body the way ingest does."""
    return JSONResponse({"type": type(json.loads(body)).__name__})


@pytest.mark.parametrize("raw", [arrays(2000), objects(MAX_BODY_DEPTH + 1)])
async def test_a_deep_body_is_a_400_naming_the_limit_with_no_traceback(
    raw: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    endpoints = Endpoints(bearer_authenticator(ADMIN_TOKEN, NoKeys()), (Scope.INGEST,))
    app = problem_app([endpoints.route("POST", "/parse", parses, max_body=64 * 1024)])
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with caplog.at_level(logging.INFO):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            deep = await http.post("/parse", content=raw, headers=headers)
            fine = await http.post("/parse", content=arrays(MAX_BODY_DEPTH), headers=headers)
    assert deep.status_code == 400, deep.text
    assert deep.headers["content-type"] == "application/problem+json"
    assert deep.json()["detail"] == TOO_DEEP
    assert fine.json() == {"type": "list"}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
