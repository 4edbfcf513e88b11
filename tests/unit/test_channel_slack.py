"""The Slack channel: the incoming-webhook payload, escaped for mrkdwn, and its request."""

from __future__ import annotations

import dataclasses
import json

from alerting.channels.builtin.slack import CHANNEL
from alerting.channels.builtin.slack import body as slack_body
from tests.unit.channel_support import NOW_S, N, Recorded, target


def test_slack_payload_escapes_mrkdwn() -> None:
    payload = json.loads(slack_body(N))
    assert payload["text"] == "[FIRING] [HIGH] payments: checkout_errors"
    section = payload["blocks"][1]["text"]["text"]
    assert "*note:* &lt;b&gt;&amp;" in section and "*region:* eu" in section


def test_a_resolved_slack_message_says_so_first() -> None:
    payload = json.loads(slack_body(dataclasses.replace(N, kind="resolved", episode=2)))
    assert payload["text"] == "[RESOLVED] [HIGH] payments: checkout_errors"
    assert payload["blocks"][0]["text"]["text"] == payload["text"]


async def test_deliver_posts_the_payload_unsigned() -> None:
    via = Recorded()
    hook = "https://hooks.slack.com/services/T/B/x"
    assert (await CHANNEL.deliver(N, target("slack", hook), via.outbound())) == via.answer
    assert via.posts == [
        (hook, slack_body(N), {"Content-Type": "application/json",
                               "User-Agent": "alerting-sender/1"}, NOW_S),
    ]  # fmt: skip
    assert not CHANNEL.signed and CHANNEL.name == "slack"


def test_stored_control_characters_cannot_forge_slack_lines() -> None:
    """Ingest refuses them; a notification stored before it did is shown escaped."""
    forged = dataclasses.replace(
        N, name="x\u202egpj", context={"region": "eu\n*severity:* LOW", "k\x1b": "v"}
    )
    payload = json.loads(slack_body(forged))
    section = payload["blocks"][1]["text"]["text"]
    assert "*region:* eu\\u000a*severity:* LOW" in section and "*k\\u001b:* v" in section
    assert len(section.splitlines()) == 2 + len(forged.context)
    assert payload["text"] == "[FIRING] [HIGH] payments: x\\u202egpj"
    assert payload["blocks"][0]["text"]["text"] == "[FIRING] [HIGH] payments: x\\u202egpj"
