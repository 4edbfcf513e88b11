"""Local stand-ins for the outside world: an SMTP server and a webhook receiver.

Both record what they receive and show it over HTTP (``GET /received``,
``GET /emails``, and just the numbers at ``GET /counts``), so a developer or a test can
see exactly what the platform sent. A webhook digest (docs/grouping.md) is one request
whose body is a JSON array of notifications: each recorded request says how many it
carried (``members``: the array's length, else 1), and ``/counts`` sums them per name.
A webhook path can be scripted to answer given status codes first
(``PUT /script/<name>`` with ``{"statuses": [500, 500]}``), to exercise retries, and to
hold each scripted answer back (``"delay_s": 5``; recorded at once, answered late), so a
test can kill the sender while the receiver has a request it has not answered yet.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterator, Mapping
from email import message_from_bytes
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from alerting.web.body import nests_deeper, too_deep

MAX_KEPT = 100_000  # enough for the 5,000-alert crash tests and their redeliveries
MAX_DELAY_S = 60.0  # a scripted delay longer than any sender's timeout is a mistake


class Recorder:
    def __init__(self) -> None:
        self.requests: deque[ReceivedHook] = deque(maxlen=MAX_KEPT)
        self.emails: deque[ReceivedMail] = deque(maxlen=MAX_KEPT)
        # name -> (status, seconds to hold the answer back) of its next answers
        self.scripts: dict[str, deque[tuple[int, float]]] = defaultdict(deque)
        # Webhooks received per name, kept apart from the bounded list: a cheap progress
        # counter for the bench, which polls it every 50 ms.
        self.counts: Counter[str] = Counter()
        # Notifications received per name: a digest counts its members, anything else 1.
        self.members: Counter[str] = Counter()

    def script(self, name: str, statuses: list[int], delay_s: float = 0.0) -> None:
        """Queue answers for ``name`` after those already queued."""
        self.scripts[name].extend((status, delay_s) for status in statuses)

    def next_answer(self, name: str) -> tuple[int, float]:
        script = self.scripts.get(name)
        return script.popleft() if script else (200, 0.0)


class Received(Mapping[str, Any]):
    """One received item as the sink shows it: the fields known at once are kept, the
    rest are parsed from the raw bytes only when one of them is read. In the benchmarks
    the sink shares the machine with the platform (and with Alertmanager), and most of
    what it receives is counted, never looked at: parsing each one as it came cost the
    sink as much CPU as the sender spent sending it."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self._fields = fields
        self._parsed = False

    def _parse(self) -> dict[str, Any]:
        raise NotImplementedError

    def _complete(self) -> None:
        self._fields.update(self._parse())
        self._parsed = True

    def __getitem__(self, key: str) -> Any:
        if key not in self._fields and not self._parsed:
            self._complete()
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        if not self._parsed:
            self._complete()
        return iter(self._fields)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class ReceivedMail(Received):
    """One email as ``/emails`` shows it: the envelope as received, the message parsed
    with ``email``'s default policy when read."""

    def __init__(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> None:
        super().__init__({"mail_from": mail_from, "rcpt_tos": rcpt_tos, "received_at": time.time()})
        self._raw = raw

    def _parse(self) -> dict[str, Any]:
        parsed = message_from_bytes(self._raw, policy=default_policy)
        body = parsed.get_body(preferencelist=("plain", "html"))
        return {
            "subject": str(parsed.get("Subject", "")),
            "headers": {k: str(v) for k, v in parsed.items()},
            "body": body.get_content() if body is not None else "",
        }


class ReceivedHook(Received):
    """One webhook request as ``/received`` shows it: its headers, text and JSON body
    decoded when read. A JSON array (a digest) is parsed at once, for its ``members``."""

    def __init__(
        self, fields: dict[str, Any], headers: list[tuple[bytes, bytes]], raw: bytes
    ) -> None:
        self._headers = headers
        self._raw = raw
        self._body: Any = None
        members = 1
        if raw.lstrip()[:1] == b"[":
            self._body = _json_or_text(raw)
            members = len(self._body) if isinstance(self._body, list) else 1
        super().__init__({**fields, "members": members})

    def _parse(self) -> dict[str, Any]:
        raw = self._raw
        return {
            "headers": {k.decode("latin-1"): v.decode("latin-1") for k, v in self._headers},
            "raw_body": raw.decode(errors="replace"),
            "body": _json_or_text(raw) if self._body is None else self._body,
        }


def _json_or_text(raw: bytes) -> Any:
    if nests_deeper(raw):  # kept as text: json.loads would recurse once per level
        return raw.decode(errors="replace")
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


class SmtpHandler:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        mail_from = envelope.mail_from or ""
        self.recorder.emails.append(ReceivedMail(mail_from, list(envelope.rcpt_tos), raw))
        return "250 OK"


HOOKS = "/hooks/"
ANSWER = b'{"received":true}'
ANSWER_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(ANSWER)).encode()),
]


def record_hook(
    recorder: Recorder,
    name: str,
    method: str,
    path: str,
    headers: list[tuple[bytes, bytes]],
    raw: bytes,
) -> tuple[int, float]:
    """Record one ``POST|PUT /hooks/<name>``; the status to answer with and how long to
    hold the answer back (``Recorder.script``)."""
    status, delay_s = recorder.next_answer(name)
    fields = {
        "name": name,
        "method": method,
        "path": path,
        "status": status,
        "received_at": time.time(),
    }
    received = ReceivedHook(fields, headers, raw)
    recorder.counts[name] += 1
    recorder.members[name] += received["members"]
    recorder.requests.append(received)
    return status, delay_s


async def _record_hook(
    recorder: Recorder, name: str, scope: Scope, receive: Receive, send: Send
) -> None:
    """``POST|PUT /hooks/<name>`` as bare ASGI, ahead of Starlette's routing, request and
    response objects (``hook_server`` serves it without ASGI at all)."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    raw = b"".join(chunks)
    status, delay_s = record_hook(
        recorder, name, scope["method"], scope["path"], scope["headers"], raw
    )
    if delay_s:  # recorded first: a test sees the request arrive, then kills its sender
        await asyncio.sleep(delay_s)
    await send({"type": "http.response.start", "status": status, "headers": ANSWER_HEADERS})
    await send({"type": "http.response.body", "body": ANSWER})


def hook_name(method: str, path: str) -> str | None:
    """The ``<name>`` of a ``POST|PUT /hooks/<name>`` (one path segment); else None."""
    if method not in ("POST", "PUT") or not path.startswith(HOOKS):
        return None
    name = path[len(HOOKS) :]
    return name if name and "/" not in name else None


def webhook_app(recorder: Recorder) -> ASGIApp:
    """Webhooks straight to the recorder; everything else (viewing, scripting) through
    Starlette."""
    routes = routes_of(recorder)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        name = None
        if scope["type"] == "http":
            name = hook_name(scope["method"], scope.get("path", ""))
        if name is not None:
            await _record_hook(recorder, name, scope, receive, send)
        else:
            await routes(scope, receive, send)

    return app


def routes_of(recorder: Recorder) -> Starlette:
    """Everything but the hooks: viewing, clearing and scripting what was received."""

    async def received(request: Request) -> Response:
        name = request.query_params.get("name")
        items = [dict(r) for r in recorder.requests if name is None or r["name"] == name]
        return JSONResponse({"count": len(items), "items": items})

    async def counts(_: Request) -> Response:
        """How many webhooks (per name), notifications in them, and emails arrived since
        the last clear."""
        return JSONResponse(
            {"hooks": recorder.counts, "members": recorder.members, "emails": len(recorder.emails)}
        )

    async def emails(_: Request) -> Response:
        items = [dict(mail) for mail in recorder.emails]
        return JSONResponse({"count": len(items), "items": items})

    async def clear(_: Request) -> Response:
        recorder.requests.clear()
        recorder.emails.clear()
        recorder.scripts.clear()
        recorder.counts.clear()
        recorder.members.clear()
        return Response(status_code=204)

    async def script(request: Request) -> Response:
        raw = await request.body()
        if nests_deeper(raw):
            return JSONResponse({"detail": too_deep().detail}, 400)
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        statuses = payload.get("statuses") if isinstance(payload, dict) else None
        if not isinstance(statuses, list) or not all(
            isinstance(s, int) and 100 <= s <= 599 for s in statuses
        ):
            return JSONResponse({"detail": "statuses must be a list of HTTP codes"}, 422)
        delay_s = payload.get("delay_s", 0) if isinstance(payload, dict) else 0
        if (
            isinstance(delay_s, bool)
            or not isinstance(delay_s, int | float)
            or not 0 <= delay_s <= MAX_DELAY_S
        ):
            return JSONResponse({"detail": f"delay_s must be 0 to {MAX_DELAY_S:g} seconds"}, 422)
        name = request.path_params["name"]
        recorder.scripts.pop(name, None)  # a PUT replaces the script
        recorder.script(name, statuses, float(delay_s))
        return Response(status_code=204)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/received", received, methods=["GET"]),
            Route("/emails", emails, methods=["GET"]),
            Route("/counts", counts, methods=["GET"]),
            Route("/received", clear, methods=["DELETE"]),
            Route("/script/{name}", script, methods=["PUT"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", healthz, methods=["GET"]),
        ]
    )


async def start_smtp(recorder: Recorder, host: str, port: int) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    handler = SmtpHandler(recorder)
    return await loop.create_server(lambda: SMTP(handler, hostname="alerting-sink"), host, port)
