"""The SMTP pool's STARTTLS and AUTH against a real SMTP server (aiosmtpd) on loopback:
credentials go only over a TLS session whose certificate the client verified, never in
clear, and a failure to get there is a retried attempt that delivered nothing.

The server's certificate comes from a CA made here; the client trusts it only through
SSL_CERT_FILE (read by ``ssl.create_default_context``, which aiosmtplib builds its context
with), the product keeping certificate verification on."""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from alerting.adapters.smtp import SmtpPool
from alerting.channels.mail_message import mail_message
from alerting.config import SmtpSettings
from alerting.dev.sinks import Recorder, SmtpHandler
from alerting.domain.delivery import Attempt, Outcome
from tests.ports import free_port

pytestmark = pytest.mark.integration
SENDER = "Alerts <alerts@alerting.local>"
USER = "relay-user"
PASSWORD = "s3cret-Relay-pw"


@dataclass(frozen=True)
class Pki:
    ca: Path  # the CA's certificate, PEM: what a client must trust
    cert: Path  # the server's chain (its certificate, issued by the CA for 127.0.0.1)
    key: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("smtp-pki")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alerting test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    pki.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pki


@dataclass(frozen=True)
class Login:
    mechanism: str
    login: bytes
    password: bytes
    over_tls: bool  # the session had completed STARTTLS when AUTH ran


@dataclass
class Server:
    recorder: Recorder
    port: int
    logins: list[Login] = field(default_factory=list)  # every AUTH the server saw
    mail_over_tls: list[bool] = field(default_factory=list)  # per DATA: was it TLS?
    received: bytearray = field(default_factory=bytearray)  # every command byte read


class RecordingSmtp(SMTP):
    """Keeps every byte its SMTP layer reads: in clear before STARTTLS, decrypted after
    it; a password the client sent in any form is in there."""

    def __init__(self, server: Server, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._server = server

    def data_received(self, data: bytes) -> None:
        self._server.received += data
        super().data_received(data)


class TlsAwareHandler(SmtpHandler):
    def __init__(self, server: Server) -> None:
        super().__init__(server.recorder)
        self._server = server

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._server.mail_over_tls.append(session.ssl is not None)
        return await super().handle_DATA(server, session, envelope)


Serve = Callable[[bool], Awaitable[Server]]


@pytest.fixture
async def serve(pki: Pki) -> AsyncIterator[Serve]:
    """``await serve(tls)``: with tls, a server that offers STARTTLS and takes AUTH and
    mail only after it; without, one that offers no STARTTLS and would take AUTH (and
    the password) in clear: the downgrade a client must refuse."""
    listening: list[asyncio.Server] = []

    async def start(tls: bool) -> Server:
        server = Server(Recorder(), free_port())
        handler = TlsAwareHandler(server)

        def authenticator(
            _smtp: SMTP, session: Session, _env: Envelope, mechanism: str, data: Any
        ) -> AuthResult:
            assert isinstance(data, LoginPassword)
            over_tls = session.ssl is not None
            server.logins.append(Login(mechanism, data.login, data.password, over_tls))
            ok = data.login == USER.encode() and data.password == PASSWORD.encode()
            return AuthResult(success=ok, handled=False)  # a refusal: the 535 reply

        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(pki.cert, pki.key)
            options: dict[str, Any] = {
                "tls_context": context,
                "require_starttls": True,
                "auth_required": True,
                "auth_require_tls": True,
            }
        else:
            options = {"auth_required": False, "auth_require_tls": False}

        def session() -> SMTP:
            return RecordingSmtp(
                server, handler, hostname="test-sink", authenticator=authenticator, **options
            )

        loop = asyncio.get_running_loop()
        listening.append(await loop.create_server(session, "127.0.0.1", server.port))
        return server

    try:
        yield start
    finally:
        for one in listening:
            one.close()
            await one.wait_closed()


@pytest.fixture
def trust_test_ca(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca))


@pytest.fixture(autouse=True)
def no_ambient_trust(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only ``trust_test_ca`` makes the client trust the test CA."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


async def _send(server: Server, password: str = PASSWORD) -> Attempt:
    settings = SmtpSettings("127.0.0.1", server.port, USER, password, True, SENDER)
    pool = SmtpPool(settings, 1, 5.0)
    msg = mail_message([("From", SENDER), ("To", "o@acme.example"), ("Subject", "s")], "b\n")
    try:
        return await pool.send(msg, "o@acme.example")
    finally:
        await pool.close()


def _assert_password_never_sent(server: Server, password: str = PASSWORD) -> None:
    assert not server.logins
    wire = bytes(server.received)
    assert b"AUTH" not in wire.upper()
    for form in _password_forms(password):
        assert form not in wire


def _password_forms(password: str) -> list[bytes]:
    """The password as AUTH LOGIN and AUTH PLAIN carry it, and in clear."""
    plain = f"\0{USER}\0{password}".encode()
    return [password.encode(), base64.b64encode(password.encode()), base64.b64encode(plain)]


@pytest.mark.usefixtures("trust_test_ca")
async def test_starttls_then_auth_then_mail_all_over_tls(serve: Serve) -> None:
    server = await serve(True)
    attempt = await _send(server)
    assert attempt.outcome is Outcome.SENT, attempt.error
    [mail] = server.recorder.emails
    assert mail["rcpt_tos"] == ["o@acme.example"]
    assert server.mail_over_tls == [True]
    assert server.logins, "the server required AUTH and saw it"
    assert all(one.over_tls for one in server.logins)
    last = server.logins[-1]  # the one that succeeded
    assert (last.login, last.password) == (USER.encode(), PASSWORD.encode())
    # Before STARTTLS, nothing but the greeting's EHLO and STARTTLS went in clear.
    before_tls = bytes(server.received).split(b"STARTTLS\r\n", 1)[0]
    assert before_tls.startswith(b"EHLO ") and before_tls.count(b"\r\n") == 1


async def test_a_certificate_the_client_does_not_trust_stops_before_auth(serve: Serve) -> None:
    server = await serve(True)
    attempt = await _send(server)
    assert attempt.outcome is Outcome.RETRY
    assert "CERTIFICATE_VERIFY_FAILED" in (attempt.error or ""), attempt.error
    assert not server.recorder.emails and not server.mail_over_tls
    _assert_password_never_sent(server)


@pytest.mark.usefixtures("trust_test_ca")
async def test_starttls_not_offered_is_no_downgrade_to_plaintext_auth(serve: Serve) -> None:
    server = await serve(False)  # offers AUTH in clear and would take any password
    attempt = await _send(server)
    assert attempt.outcome is Outcome.RETRY
    assert "STARTTLS" in (attempt.error or ""), attempt.error
    assert not server.recorder.emails
    _assert_password_never_sent(server)


@pytest.mark.usefixtures("trust_test_ca")
async def test_wrong_credentials_are_retried_and_not_in_the_error(serve: Serve) -> None:
    wrong = "wr0ng-Pass-word"
    server = await serve(True)
    attempt = await _send(server, wrong)
    assert attempt.outcome is Outcome.RETRY
    assert attempt.error and "535" in attempt.error, attempt.error
    assert not server.recorder.emails
    assert server.logins and all(one.over_tls for one in server.logins)
    assert {one.password for one in server.logins} == {wrong.encode()}  # refused for that
    text = f"{attempt.error} {attempt.excerpt}"
    for form in _password_forms(wrong):
        assert form.decode() not in text
