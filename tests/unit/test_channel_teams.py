"""The Teams channel: the Workflows message with its Adaptive Card, alert text kept out of
Markdown, the card's size bound, and its request."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from alerting.channels.builtin.teams import CHANNEL, escape
from alerting.channels.builtin.teams import body as teams_body
from tests.unit.channel_support import NOW_S, N, Recorded, target


def message(n: Any = N) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(teams_body(n))
    return found


def card_body(n: Any = N) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = message(n)["attachments"][0]["content"]["body"]
    return found


def run(text: str, **style: str) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def test_the_teams_message_is_exactly_this_card() -> None:
    facts = [
        ("status", "firing (episode 1)"), ("severity", "HIGH"), ("source", "payments"),
        ("name", "checkout\\_errors"), ("alert_id", "a-1"), ("event_ts", "2023-11-14T22:13:20Z"),
        ("client_id", "acme"), ("notification_id", N.notification_id), ("rules", "r-1, r-2"),
    ]  # fmt: skip
    assert message() == {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        run(
                            "[FIRING] [HIGH] payments: checkout_errors",
                            weight="Bolder",
                            size="Large",
                            color="Attention",
                        ),
                        run(
                            "Alert checkout_errors from payments is firing"
                            " (severity HIGH, episode 1)."
                        ),
                        {"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in facts]},
                        run("Context", weight="Bolder"),
                        {
                            "type": "FactSet",
                            "facts": [
                                {"title": "note", "value": "\\<b\\>&"},
                                {"title": "region", "value": "eu"},
                            ],
                        },
                    ],
                    "msteams": {"width": "Full"},
                },
            }
        ],
    }


def test_a_resolved_card_says_so_first_and_in_green() -> None:
    head, said = card_body(dataclasses.replace(N, kind="resolved", episode=3))[:2]
    headline = "[RESOLVED] [HIGH] payments: checkout_errors"
    assert head == run(headline, weight="Bolder", size="Large", color="Good")
    assert said == run(
        "Alert checkout_errors from payments is resolved (severity HIGH, episode 3)."
    )


def test_a_test_send_says_so() -> None:
    head, said, facts = card_body(dataclasses.replace(N, test=True))[:3]
    assert head["inlines"][0]["text"] == "[TEST] [FIRING] [HIGH] payments: checkout_errors"
    assert said["inlines"][0]["text"].startswith("A test send: no alert is behind it.")
    assert facts["facts"][0] == {"title": "test", "value": "a test send: no alert behind it"}


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("[click](https://evil.example)", "\\[click\\](https://evil.example)"),
        ("**urgent** _now_ `code` ~~x~~", "\\*\\*urgent\\*\\* \\_now\\_ \\`code\\` \\~\\~x\\~\\~"),
        ("- item", "\\- item"),
        ("+ item", "\\+ item"),
        ("# heading", "\\# heading"),
        ("1. first", "1\\. first"),
        ("12) twelfth", "12\\) twelfth"),
        ("<https://evil.example>", "\\<https://evil.example\\>"),
        ("back\\slash", "back\\\\slash"),
        ("a\nb", "a\\\\u000ab"),  # a stored line break cannot start a list either
        ("10.0.0.1 - ok", "10.0.0.1 - ok"),
        ("-1 #tag", "-1 #tag"),
    ],
)
def test_markdown_in_alert_text_is_escaped(text: str, shown: str) -> None:
    assert escape(text) == shown


def test_alert_text_reaches_facts_escaped_and_text_runs_as_is() -> None:
    hostile = "**[x](http://e)**"
    body = card_body(dataclasses.replace(N, name=hostile, context={hostile: hostile}))
    assert body[0]["inlines"][0]["text"] == f"[FIRING] [HIGH] payments: {hostile}"  # TextRun
    escaped = "\\*\\*\\[x\\](http://e)\\*\\*"
    assert {"title": "name", "value": escaped} in body[2]["facts"]
    assert body[4]["facts"] == [{"title": escaped, "value": escaped}]


def test_a_huge_context_is_cut_to_keep_the_card_under_teams_limit() -> None:
    n = dataclasses.replace(
        N, name="n" * 5000, context={f"k{i:03}": "v" * 5000 for i in range(200)}
    )
    encoded = teams_body(n)
    assert len(encoded) < 28_000
    body = card_body(n)
    assert len(body[0]["inlines"][0]["text"]) == 256
    context = body[4]["facts"]
    assert all(len(f["value"]) <= 1000 for f in context[:-1])
    shown = len(context) - 1
    left = f"{200 - shown} more context entries not shown"
    assert context[-1] == {"title": "\u2026", "value": left}


async def test_deliver_posts_the_card() -> None:
    via = Recorded()
    hook = "https://prod-00.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke"
    assert (await CHANNEL.deliver(N, target("teams", hook), via.outbound())) == via.answer
    expected = {"Content-Type": "application/json", "User-Agent": "alerting-sender/1"}
    assert via.posts == [(hook, teams_body(N), expected, NOW_S)]
    assert CHANNEL.name == "teams" and not CHANNEL.signed and CHANNEL.credential is None
