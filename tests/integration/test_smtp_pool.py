"""The SMTP pool against a real SMTP server (aiosmtpd, the dev sink's): what the
hand-built bytes become at the other end, a pooled connection the server dropped, and an
address only SMTPUTF8 could carry."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiosmtpd.smtp import SMTP

from alerting.adapters.smtp import SmtpPool
from alerting.channels.mail_message import mail_message
from alerting.config import SmtpSettings
from alerting.dev.sinks import Recorder, SmtpHandler
from alerting.domain.delivery import Outcome
from tests.ports import free_port

pytestmark = pytest.mark.integration
SENDER = "Alerts <alerts@alerting.local>"


@dataclass
class Server:
    recorder: Recorder
    port: int
    sessions: list[SMTP]  # every connection the server accepted


@contextlib.asynccontextmanager
async def serving(handler_type: type[SmtpHandler] = SmtpHandler) -> AsyncIterator[Server]:
    recorder, sessions, port = Recorder(), [], free_port()
    handler = handler_type(recorder)

    def session() -> SMTP:
        sessions.append(SMTP(handler, hostname="test-sink"))
        return sessions[-1]

    listening = await asyncio.get_running_loop().create_server(session, "127.0.0.1", port)
    try:
        yield Server(recorder, port, sessions)
    finally:
        listening.close()
        await listening.wait_closed()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serving() as running:
        yield running


def _pool(server: Server, sender: str = SENDER) -> SmtpPool:
    return SmtpPool(SmtpSettings("127.0.0.1", server.port, "", "", False, sender), 1, 5.0)


async def test_what_arrives_is_what_was_built(server: Server) -> None:
    subject = "[FIRING] Störung: disk full on db-1"
    body = "first\n.\n..leading dots\n.\nÄrger " + "x" * 1200 + "\nlast\n"
    msg = mail_message([("From", SENDER), ("To", "o@acme.example"), ("Subject", subject)], body)
    pool = _pool(server)
    try:
        attempt = await pool.send(msg, "o@acme.example")
    finally:
        await pool.close()
    assert attempt.outcome is Outcome.SENT and attempt.response_code == 250
    [mail] = server.recorder.emails
    assert mail["rcpt_tos"] == ["o@acme.example"] and mail["mail_from"] == "alerts@alerting.local"
    assert mail["subject"] == subject
    assert mail["body"].replace("\r\n", "\n") == body  # dot-stuffed on the way, unstuffed there


async def test_a_pooled_connection_the_server_dropped_is_opened_again(server: Server) -> None:
    pool = _pool(server)
    msg = mail_message([("From", SENDER), ("To", "o@acme.example"), ("Subject", "s")], "b\n")
    try:
        assert (await pool.send(msg, "o@acme.example")).outcome is Outcome.SENT
        [first] = server.sessions
        assert first.transport is not None
        first.transport.close()  # the server hangs up between two messages
        await asyncio.sleep(0.05)
        assert (await pool.send(msg, "o@acme.example")).outcome is Outcome.SENT
        assert (await pool.send(msg, "o@acme.example")).outcome is Outcome.SENT
    finally:
        await pool.close()
    assert len(server.sessions) == 2, "reconnected once, then reused"
    assert len(server.recorder.emails) == 3


async def test_an_address_only_smtputf8_carries_fails_for_good_without_it(server: Server) -> None:
    pool = _pool(server)
    msg = mail_message([("From", SENDER), ("To", "jürgen@acme.example"), ("Subject", "s")], "b\n")
    try:
        attempt = await pool.send(msg, "jürgen@acme.example")
    finally:
        await pool.close()
    assert attempt.outcome is Outcome.FAILED and "SMTPUTF8" in (attempt.error or "")
    assert not server.recorder.emails


async def test_a_non_ascii_display_name_needs_no_smtputf8(server: Server) -> None:
    sender = "Équipe Alertes <alerts@alerting.local>"
    pool = _pool(server, sender)
    msg = mail_message([("From", sender), ("To", "o@acme.example"), ("Subject", "s")], "b\n")
    try:
        attempt = await pool.send(msg, "o@acme.example")
    finally:
        await pool.close()
    assert attempt.outcome is Outcome.SENT
    [mail] = server.recorder.emails
    assert mail["mail_from"] == "alerts@alerting.local" and mail["headers"]["From"] == sender


class RefusingEhlo(SmtpHandler):
    """A server that greets, then answers EHLO with 554: the pool's connection is open
    but unusable before any message."""

    async def handle_EHLO(
        self, server: SMTP, session: object, envelope: object, hostname: str, responses: list[str]
    ) -> list[str]:
        return ["554 not talking to you"]


async def test_a_connection_whose_ehlo_fails_is_closed_not_left_open() -> None:
    """The connection is not in a slot yet when EHLO fails: unless the pool closes it
    there, nothing does (the loop keeps reading it), and the server holds it open."""
    async with serving(RefusingEhlo) as server:
        pool = _pool(server)
        msg = mail_message([("From", SENDER), ("To", "o@acme.example"), ("Subject", "s")], "b\n")
        try:
            attempt = await pool.send(msg, "o@acme.example")
            assert attempt.outcome is Outcome.RETRY and "554" in (attempt.error or "")
            assert list(server.recorder.emails) == [] and len(server.sessions) == 1
            for _ in range(100):
                if server.sessions[0].transport is None:  # the server saw the client close it
                    break
                await asyncio.sleep(0.02)
            assert server.sessions[0].transport is None
        finally:
            await pool.close()
