"""The Slack channel: the Block Kit payload, escaped for mrkdwn, its limits, a template's
text in place of the main one, and its request."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from alerting.channels.builtin.slack import CHANNEL, escape
from alerting.channels.builtin.slack import body as slack_body
from tests.unit.channel_support import NOW_S, N, Recorded, strings, target


def payload(n: Any = N, text: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(slack_body(n, text))
    return found


def field(label: str, value: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": f"*{label}*\n{value}", "verbatim": True}


def test_the_slack_payload_is_exactly_these_blocks() -> None:
    assert payload() == {
        "text": "[FIRING] [HIGH] payments: checkout_errors",
        "blocks": [
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": "[FIRING] [HIGH] payments: checkout_errors",
                    "emoji": False,
                },
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": ":rotating_light: Alert *checkout_errors* from *payments* is"
                    " *firing* (severity HIGH, episode 1).",
                    "verbatim": True,
                },
            },
            {
                "type": "section",
                "fields": [
                    field("status", "firing (episode 1)"),
                    field("severity", "HIGH"),
                    field("source", "payments"),
                    field("name", "checkout_errors"),
                    field("alert_id", "a-1"),
                    field("event_ts", "2023-11-14T22:13:20Z"),
                    field("note", "&lt;b&gt;&amp;"),
                    field("region", "eu"),
                ],
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "client_id acme \u00b7 notification_id"
                        " 6f1c0d1e-8a8e-4a43-9d5c-2b1d4c9e0a11 \u00b7 rules r-1, r-2",
                        "verbatim": True,
                    }
                ],
            },
        ],
    }


def test_a_resolved_slack_message_says_so_first() -> None:
    resolved = payload(dataclasses.replace(N, kind="resolved", episode=2))
    assert resolved["text"] == "[RESOLVED] [HIGH] payments: checkout_errors"
    assert resolved["blocks"][0]["text"]["text"] == resolved["text"]
    assert resolved["blocks"][1]["text"]["text"] == (
        ":white_check_mark: Alert *checkout_errors* from *payments* is *resolved*"
        " (severity HIGH, episode 2)."
    )


def test_a_test_send_says_so_in_the_header_and_the_text() -> None:
    sent = payload(dataclasses.replace(N, test=True))
    assert sent["text"] == "[TEST] [FIRING] [HIGH] payments: checkout_errors"
    assert sent["blocks"][0]["text"]["text"] == sent["text"]
    assert sent["blocks"][1]["text"]["text"].startswith(":test_tube: A test send")
    assert sent["blocks"][2]["fields"][0] == field("test", "a test send: no alert behind it")


def test_mentions_in_any_alert_field_reach_slack_escaped() -> None:
    hostile = "<!channel> & <@U123>"
    n = dataclasses.replace(
        N, name=hostile, source=hostile, alert_id=hostile, context={hostile: hostile}
    )
    values = strings(payload(n))
    assert not [s for s in values if "<!" in s or "<@" in s or "<http" in s]
    escaped = "&lt;!channel&gt; &amp; &lt;@U123&gt;"
    assert sum(s.count(escaped) for s in values) >= 8  # text, header, main, 4 fields (2 x1)
    assert field(escaped, escaped) in payload(n)["blocks"][2]["fields"]


def test_limits_header_section_fields_and_blocks() -> None:
    huge = dataclasses.replace(
        N,
        name="&" * 400,
        context={f"k{i:03}": "<" * 3000 for i in range(600)} | {"x" * 300: "v"},
    )
    found = payload(huge)
    header = found["blocks"][0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("&amp;\u2026")  # never cut in an entity
    assert len(found["blocks"]) == 50
    sections = [b for b in found["blocks"] if "fields" in b]
    assert all(len(s["fields"]) <= 10 for s in sections)
    fields = [f["text"] for s in sections for f in s["fields"]]
    assert all(len(f) <= 2000 for f in fields) and len(fields) == 470
    assert fields[-1] == "*\u2026*\n138 more context entries not shown"  # 6 facts + 601 - 469 shown
    assert all(len(s) <= 3000 for s in strings(found))
    assert all(not f.endswith(("&", "&l", "&lt")) for f in fields)


def test_a_template_text_replaces_only_the_main_section() -> None:
    rendered = f"*{escape(N.name)}* on {escape('<db-1>')}"
    templated = payload(N, rendered)
    default = payload()
    assert templated["blocks"][1]["text"]["text"] == "*checkout_errors* on &lt;db-1&gt;"
    assert templated["blocks"][0] == default["blocks"][0]
    assert templated["blocks"][2:] == default["blocks"][2:]
    assert templated["text"] == default["text"]
    long = payload(N, "&amp;" * 700)["blocks"][1]["text"]["text"]
    assert len(long) <= 3000 and long.endswith("&amp;\u2026")


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
    found = payload(forged)
    fields = found["blocks"][2]["fields"]
    assert field("region", "eu\\u000a*severity:* LOW") in fields
    assert field("k\\u001b", "v") in fields
    assert all(f["text"].count("\n") == 1 for f in fields)
    assert found["text"] == "[FIRING] [HIGH] payments: x\\u202egpj"
    assert found["blocks"][0]["text"]["text"] == "[FIRING] [HIGH] payments: x\\u202egpj"
