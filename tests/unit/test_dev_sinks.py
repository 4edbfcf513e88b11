"""The webhook sink records what it gets and answers as scripted (the tests and the
bench read deliveries from it)."""

from __future__ import annotations

import asyncio
import time

import httpx
from aiosmtpd.smtp import Envelope

from alerting.dev.sinks import Recorder, SmtpHandler, webhook_app


def client(recorder: Recorder) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=webhook_app(recorder))
    return httpx.AsyncClient(transport=transport, base_url="http://sink")


async def test_a_webhook_is_recorded_and_answered_as_scripted() -> None:
    recorder = Recorder()
    async with client(recorder) as http:
        assert (await http.put("/script/flaky", json={"statuses": [503]})).status_code == 204
        first = await http.post("/hooks/flaky", json={"n": 1}, headers={"X-Sig": "abc"})
        second = await http.post("/hooks/flaky", content=b"not json")
        other = await http.put("/hooks/other", json=[{"n": 2}, {"n": 3}])  # a digest
        assert (first.status_code, second.status_code, other.status_code) == (503, 200, 200)
        assert second.json() == {"received": True}

        seen = (await http.get("/received", params={"name": "flaky"})).json()
        counts = (await http.get("/counts")).json()
        assert counts == {
            "hooks": {"flaky": 2, "other": 1},
            "members": {"flaky": 2, "other": 2},
            "emails": 0,
        }
        assert [r["members"] for r in recorder.requests] == [1, 1, 2]
        assert [r["name"] for r in recorder.requests] == ["flaky", "flaky", "other"]
        assert (await http.delete("/received")).status_code == 204
        assert (await http.get("/counts")).json() == {"hooks": {}, "members": {}, "emails": 0}
    assert seen["count"] == 2
    one, two = seen["items"]
    assert (one["method"], one["path"], one["body"], one["status"]) == (
        "POST",
        "/hooks/flaky",
        {"n": 1},
        503,
    )
    assert one["headers"]["x-sig"] == "abc"
    assert (two["body"], two["raw_body"]) == ("not json", "not json")
    assert two["received_at"] >= one["received_at"] > 0


async def test_only_single_segment_hook_paths_are_recorded() -> None:
    recorder = Recorder()
    async with client(recorder) as http:
        assert (await http.post("/hooks/a/b", json={})).status_code == 404
        assert (await http.post("/hooks/", json={})).status_code == 404
        assert (await http.get("/hooks/a")).status_code in (404, 405)
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        assert (await http.delete("/received")).status_code == 204
    assert len(recorder.requests) == 0


async def test_deeply_nested_bodies_are_bounded_before_parsing() -> None:
    """``json.loads`` recurses per level: 100,000 ``[`` raised RecursionError (a 500, and
    a traceback in the sink's log). The API's depth bound applies here too: a hook body
    that nests too deep is recorded as text, a script body is refused."""
    recorder = Recorder()
    deep = b"[" * 100_000 + b"]" * 100_000
    async with client(recorder) as http:
        hook = await http.post("/hooks/deep", content=deep)
        script = await http.put("/script/deep", content=deep)
    assert hook.status_code == 200
    assert recorder.requests[0]["body"] == deep.decode()
    assert script.status_code == 400
    assert "deeper" in script.json()["detail"]


async def test_a_scripted_delay_records_at_once_and_answers_late() -> None:
    recorder = Recorder()
    async with client(recorder) as http:
        put = await http.put("/script/slow", json={"statuses": [200], "delay_s": 0.3})
        assert put.status_code == 204
        answer = asyncio.create_task(http.post("/hooks/slow", json=[{"n": 1}]))
        await asyncio.sleep(0.1)
        assert not answer.done()
        assert [r["name"] for r in recorder.requests] == ["slow"]  # recorded, not answered
        assert (await answer).status_code == 200
        began = time.monotonic()
        assert (await http.post("/hooks/slow", json={})).status_code == 200  # script used up
        assert time.monotonic() - began < 0.2


async def test_a_bad_delay_is_refused() -> None:
    recorder = Recorder()
    async with client(recorder) as http:
        for delay in (-1, 61, "1", True):
            put = await http.put("/script/x", json={"statuses": [200], "delay_s": delay})
            assert put.status_code == 422, delay
            assert "delay_s" in put.json()["detail"]
    assert not recorder.scripts


async def test_an_email_is_kept_raw_and_shown_parsed() -> None:
    """The sink parses a message only when it is read (``/emails``, a test's look)."""
    recorder = Recorder()
    envelope = Envelope()
    envelope.mail_from, envelope.rcpt_tos = "alerts@a.example", ["o@a.example"]
    envelope.original_content = (
        b"From: alerts@a.example\r\nTo: o@a.example\r\nSubject: =?utf-8?b?w4RyZ2Vy?=\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nbody line\r\n"
    )
    handler = SmtpHandler(recorder)
    answer = await handler.handle_DATA(None, None, envelope)  # type: ignore[arg-type]
    assert answer == "250 OK"
    async with client(recorder) as http:
        assert (await http.get("/counts")).json()["emails"] == 1
        shown = (await http.get("/emails")).json()
    assert shown["count"] == 1
    [mail] = shown["items"]
    assert (mail["mail_from"], mail["rcpt_tos"], mail["subject"]) == (
        "alerts@a.example",
        ["o@a.example"],
        "\u00c4rger",
    )
    assert mail["headers"]["To"] == "o@a.example" and mail["body"] == "body line\r\n"
    assert mail == dict(recorder.emails[0]) and recorder.emails[0]["subject"] == "\u00c4rger"
