"""The hand-built email bytes: read back by the standard library's parser (as a mail
client would), they say what was put in, and nothing in a value escapes its header."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerting.channels.mail_message import MailMessage, mail_message

SENDER = "Alerts <alerts@acme.example>"


def _mail(subject: str, body: str = "hello\n", sender: str = SENDER) -> MailMessage:
    return mail_message([("From", sender), ("To", "o@acme.example"), ("Subject", subject)], body)


def _read(msg: MailMessage) -> EmailMessage:
    raw = msg.as_bytes()
    raw.decode("ascii")  # 7bit on the wire: no 8BITMIME needed
    lines = raw.split(b"\r\n")
    assert all(len(line) <= 998 for line in lines)
    assert b"\n" not in raw.replace(b"\r\n", b""), "a bare LF"
    parsed = message_from_bytes(raw, policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _body(parsed: EmailMessage) -> str:
    content = parsed.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


@pytest.mark.parametrize(
    "bad", ["x\r\nBcc: evil@example.com", "x\nBcc: e@x", "x\rBcc: e", "a\x00b"]
)
def test_a_value_that_would_leave_its_header_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="control character"):
        _mail(bad)
    with pytest.raises(ValueError, match="control character"):
        mail_message([("X-Alerting-Notification-Id", bad)], "")


def test_a_plain_message_is_as_expected() -> None:
    msg = _mail("[FIRING] disk full", "line one\nline two\n")
    raw = msg.as_bytes()
    assert raw.startswith(b"From: Alerts <alerts@acme.example>\r\nTo: o@acme.example\r\n")
    assert b"\r\nContent-Transfer-Encoding: 7bit\r\n\r\nline one\r\nline two\r\n" in raw
    assert raw.endswith(b"line two\r\n")
    parsed = _read(msg)
    assert parsed.get_content_type() == "text/plain" and not parsed.is_multipart()
    assert parsed.get_content_charset() == "utf-8"
    assert msg["subject"] == str(parsed["Subject"]) == "[FIRING] disk full"
    assert msg["Bcc"] is None and parsed["Bcc"] is None


def test_a_non_ascii_subject_and_display_name_are_encoded_words() -> None:
    subject = "[FIRING] Störung im Rechenzentrum — 数据库 " * 3
    msg = _mail(subject, sender="Équipe Alertes <alerts@acme.example>")
    raw = msg.as_bytes()
    assert b"=?utf-8?" in raw and b"<alerts@acme.example>" in raw
    parsed = _read(msg)
    assert str(parsed["Subject"]) == subject
    assert str(parsed["From"]) == "Équipe Alertes <alerts@acme.example>"


def test_a_long_ascii_subject_is_folded_at_spaces_and_reads_back_the_same() -> None:
    subject = " ".join(f"word{i}" for i in range(60))
    raw = _mail(subject).as_bytes()
    head = raw.split(b"\r\n\r\n")[0].split(b"\r\n")
    assert all(len(line) <= 78 for line in head)
    assert str(_read(_mail(subject))["Subject"]) == subject


@pytest.mark.parametrize(
    "subject", ["=?utf-8?b?ZXZpbA==?= looks encoded", "x" * 3000, "tab\tinside"]
)
def test_awkward_subjects_read_back_the_same(subject: str) -> None:
    assert str(_read(_mail(subject))["Subject"]) == subject


def test_a_non_ascii_or_long_lined_body_is_quoted_printable() -> None:
    body = "Störung\n" + "y" * 2000 + "\ntrailing space \n.\n..\n"
    msg = _mail("s", body)
    assert b"Content-Transfer-Encoding: quoted-printable" in msg.as_bytes()
    assert _body(_read(msg)) == body


def test_line_endings_in_the_body_become_crlf() -> None:
    raw = _mail("s", "a\rb\r\nc\nd").as_bytes()
    assert raw.endswith(b"\r\n\r\na\r\nb\r\nc\r\nd\r\n")


TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=300)


@given(subject=TEXT, body=st.text(max_size=500))
def test_any_text_reads_back_as_sent(subject: str, body: str) -> None:
    """Subjects without control characters, bodies of anything but NUL and lone CRs."""
    body = body.replace("\x00", "").replace("\r", "")
    msg = _mail(subject, body)
    parsed = _read(msg)
    # The parser strips a header's leading and trailing whitespace.
    assert str(parsed["Subject"]).strip() == subject.strip()
    expected = body if body.endswith("\n") or not body else body + "\n"
    assert _body(parsed) == expected
