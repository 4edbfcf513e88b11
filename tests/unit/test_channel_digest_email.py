"""An email digest: one plain-text message, the digest's title as its subject, every
member on one line, a Message-ID that is the digest's on every try."""

from __future__ import annotations

import dataclasses
from email import message_from_bytes
from email.policy import default

from alerting.channels.base import DigestChannel
from alerting.channels.builtin.email import CHANNEL, EmailChannel, digest_message
from tests.unit.channel_support import (
    HOSTILE,
    NOW_S,
    D,
    N,
    Recorded,
    digest_of,
    resolved_of,
    target,
)

DIGESTS = EmailChannel()
SENDER = "Alerts <alerts@acme.example>"


def test_the_message_is_exactly_this() -> None:
    msg = digest_message(D, "oncall@acme.example", SENDER, NOW_S)
    assert msg["Subject"] == "[FIRING] 2 alerts: region=eu"
    assert (msg["From"], msg["To"]) == (SENDER, "oncall@acme.example")
    assert msg["Message-ID"] == f"<{D.digest_id}@acme.example>"
    assert (msg["X-Alerting-Group-Id"], msg["X-Alerting-Digest-Id"]) == (D.group_id, D.digest_id)
    assert msg["Date"] == "Tue, 14 Nov 2023 22:13:25 +0000"
    # Plain text only, like a single notification's email: nothing a client renders.
    # Read back from the bytes sent, as a mail client reads them.
    read = message_from_bytes(msg.as_bytes(), policy=default)
    assert not read.is_multipart() and read.get_content_type() == "text/plain"
    assert read.get_content().replace("\r\n", "\n") == msg.get_content()  # CRLF on the wire
    assert str(read["Subject"]) == msg["Subject"] and str(read["From"]) == SENDER
    assert msg.get_content() == (
        "[FIRING] 2 alerts: region=eu\n"
        "\n"
        "status:    firing\n"
        "members:   2\n"
        f"group_id:  {D.group_id}\n"
        f"digest_id: {D.digest_id} (digest 2 of the group)\n"
        "client_id: acme\n"
        "\n"
        "[FIRING] [HIGH] payments: checkout_errors \u00b7 alert_id a-1 \u00b7"
        " 2023-11-14T22:13:20Z \u00b7 note=<b>&, region=eu\n"
        f"[FIRING] [CRITICAL] {HOSTILE}: {HOSTILE} \u00b7 alert_id a-2 \u00b7"
        f" 2023-11-14T22:14:20Z \u00b7 {HOSTILE}={HOSTILE}\n"
    )


def test_every_member_is_listed_one_line_each() -> None:
    big = digest_of(1000, labels={})
    lines = digest_message(big, "o@acme.example", SENDER, NOW_S).get_content().splitlines()
    assert lines[0] == "[FIRING] 1000 alerts"
    listed = lines[8:]
    assert len(listed) == 1000
    assert all(f"alert_id a-{i} \u00b7" in line for i, line in enumerate(listed))


def test_a_repeat_and_a_resolved_digest_say_so() -> None:
    repeat = digest_message(dataclasses.replace(D, repeat=True), "o@acme.example", SENDER, NOW_S)
    assert repeat["Subject"] == "[FIRING] 2 alerts still firing: region=eu"
    assert "status:    firing, a repeat of the members still firing\n" in repeat.get_content()
    msg = digest_message(resolved_of(D), "o@acme.example", SENDER, NOW_S)
    assert msg["Subject"] == "[RESOLVED] 2 alerts: region=eu"
    assert "\n[RESOLVED] [HIGH] payments: checkout_errors \u00b7" in msg.get_content()


def test_line_breaks_in_alert_text_or_labels_forge_no_line_and_no_header() -> None:
    sneaky = dataclasses.replace(N, name="x\r\nBcc: evil@example.com", context={"k": "a\nb"})
    digest = dataclasses.replace(D, members=(sneaky,), labels={"name": "y\r\nBcc: e@x"})
    msg = digest_message(digest, "o@acme.example", SENDER, NOW_S)
    assert msg["Bcc"] is None
    assert msg["Subject"] == "[FIRING] 1 alert: name=y Bcc: e@x"
    *_, line = msg.get_content().splitlines()
    assert line.startswith("[FIRING] [HIGH] payments: x Bcc: evil@example.com \u00b7")
    assert line.endswith("k=a\\u000ab")


def test_every_try_carries_one_message_id() -> None:
    first = digest_message(D, "o@acme.example", SENDER, NOW_S)
    again = digest_message(dataclasses.replace(D, attempts=4), "o@acme.example", SENDER, NOW_S + 90)
    assert first["Message-ID"] == again["Message-ID"]


async def test_deliver_digest_sends_one_message_to_the_target() -> None:
    via = Recorded()
    found = await DIGESTS.deliver_digest(D, target("email", "oncall@acme.example"), via.outbound())
    assert found == via.answer
    [(sent, recipient)] = via.mails
    assert recipient == "oncall@acme.example" and sent["From"] == "alerts@alerting.local"
    assert sent["Subject"] == D.title


def test_the_registered_channel_delivers_digests() -> None:
    assert isinstance(CHANNEL, DigestChannel)
