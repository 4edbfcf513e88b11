"""The email channel: the message a recipient gets, address validation and identity."""

from __future__ import annotations

import dataclasses
from email.utils import parsedate_to_datetime

import pytest

from alerting.channels.base import InvalidValue
from alerting.channels.builtin.email import CHANNEL, message
from alerting.channels.mail_message import MailMessage
from alerting.domain.delivery_messages import OutgoingNotification
from tests.unit.channel_support import NOW_S, PUBLIC, N, Recorded, target


def email_message(n: OutgoingNotification, to: str, sender: str) -> MailMessage:
    """The message at a fixed time: the clock is the caller's (injected)."""
    return message(n, to, sender, NOW_S)


def test_email_subject_recipient_header_and_body() -> None:
    msg = email_message(N, "oncall@acme.example", "alerts@alerting.local")
    assert msg["Subject"] == "[FIRING] [HIGH] payments: checkout_errors"
    assert msg["To"] == "oncall@acme.example" and msg["From"] == "alerts@alerting.local"
    assert msg["X-Alerting-Notification-Id"] == N.notification_id
    assert msg["Message-ID"].endswith("@alerting.local>")
    named = email_message(N, "oncall@acme.example", "Alerts <alerts@acme.example>")
    assert named["Message-ID"].endswith("@acme.example>")
    text = msg.get_content()
    assert "alert_id:        a-1" in text and "  region: eu" in text
    assert "rules:           r-1, r-2" in text
    assert "status:          firing (episode 1)" in text


def test_a_resolved_email_says_so_first() -> None:
    resolved = dataclasses.replace(N, kind="resolved", episode=3)
    msg = email_message(resolved, "oncall@acme.example", "alerts@alerting.local")
    assert msg["Subject"] == "[RESOLVED] [HIGH] payments: checkout_errors"
    assert "status:          resolved (episode 3)" in msg.get_content()


def test_every_attempt_of_a_notification_carries_one_message_id() -> None:
    """A re-send (a retry, a takeover after a lost outcome write) must fold into the
    first one in the recipient's mail client: the id is the notification's, at the
    sender's domain, whatever the time of the attempt. Every recipient of a notification
    gets that one id too: it is one message, sent to each address on its own."""
    first = message(N, "oncall@acme.example", "Alerts <alerts@acme.example>", NOW_S)
    again = message(N, "oncall@acme.example", "Alerts <alerts@acme.example>", NOW_S + 90)
    assert first["Message-ID"] == again["Message-ID"] == f"<{N.notification_id}@acme.example>"
    other_address = message(N, "dba@acme.example", "alerts@acme.example", NOW_S)
    assert other_address["Message-ID"] == first["Message-ID"]
    other = dataclasses.replace(N, notification_id="0b7c4a52-1d2e-4f60-8a71-9c3e5d2f4b18")
    another = message(other, "oncall@acme.example", "alerts@acme.example", NOW_S)
    assert another["Message-ID"] == f"<{other.notification_id}@acme.example>"


def test_newlines_in_alert_fields_cannot_inject_headers() -> None:
    sneaky = dataclasses.replace(N, name="x\r\nBcc: evil@example.com")
    msg = email_message(sneaky, "oncall@acme.example", "alerts@alerting.local")
    assert msg["Subject"] == "[FIRING] [HIGH] payments: x Bcc: evil@example.com"
    assert msg["Bcc"] is None


def test_the_date_header_is_the_injected_wall_clock() -> None:
    msg = message(N, "oncall@acme.example", "alerts@alerting.local", 86_400.0)
    assert "\nDate: Fri, 02 Jan 1970 00:00:00 +0000\n" in msg.as_string()


async def test_deliver_sends_to_the_target_from_the_configured_sender() -> None:
    via = Recorded()
    found = await CHANNEL.deliver(N, target("email", "oncall@acme.example"), via.outbound())
    assert found == via.answer
    [(sent, recipient)] = via.mails
    assert recipient == "oncall@acme.example" and sent["From"] == "alerts@alerting.local"
    assert parsedate_to_datetime(sent["Date"]).timestamp() == int(NOW_S)


async def test_value_is_normalized_and_compared_case_insensitively() -> None:
    assert await CHANNEL.validate("Ops@Example.com", PUBLIC) == "Ops@example.com"
    assert CHANNEL.identity("Ops@example.com") == CHANNEL.identity("ops@EXAMPLE.com")
    assert not CHANNEL.signed and CHANNEL.name == "email"


@pytest.mark.parametrize("value", ["not-an-address", "a@"])
async def test_an_invalid_address_is_refused_with_its_reason(value: str) -> None:
    with pytest.raises(InvalidValue, match=r"^not a valid email address: "):
        await CHANNEL.validate(value, PUBLIC)


def test_stored_control_characters_cannot_forge_body_lines() -> None:
    """Ingest refuses them; a notification stored before it did is shown escaped."""
    forged = dataclasses.replace(
        N, source="db\nrules:           none", context={"host\r": "web\u202e1", "cmd": "a\tb"}
    )
    text = email_message(forged, "oncall@acme.example", "alerts@alerting.local").get_content()
    assert "source:          db\\u000arules:           none" in text
    assert "  host\\u000d: web\\u202e1" in text and "  cmd: a\tb" in text
    assert [line for line in text.splitlines() if line.startswith("rules:")] == [
        "rules:           r-1, r-2"
    ]
    assert "\u202e" not in text and "\r" not in text
