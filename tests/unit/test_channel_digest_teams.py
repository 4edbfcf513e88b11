"""A Teams digest: one card (the title, the count, the first 20 members, "and N more"),
alert text only ever in text runs (never read as Markdown), under Teams' size limit."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from alerting.channels.base import DigestChannel
from alerting.channels.builtin.teams import CARD_TYPE, CHANNEL, TeamsChannel, digest_body
from tests.unit.channel_support import HOSTILE, D, N, Recorded, digest_of, target

DIGESTS = TeamsChannel()
IDS = f"group_id {D.group_id} \u00b7 digest_id {D.digest_id} \u00b7 digest 2"


def card_body(d: Any = D) -> list[dict[str, Any]]:
    message = json.loads(digest_body(d))
    [attachment] = message["attachments"]
    assert attachment["contentType"] == CARD_TYPE
    found: list[dict[str, Any]] = attachment["content"]["body"]
    return found


def run(text: str, **style: object) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def texts(d: Any) -> list[str]:
    return [block["inlines"][0]["text"] for block in card_body(d)]


def test_the_digest_is_exactly_this_card() -> None:
    message = json.loads(digest_body(D))
    assert message["type"] == "message"
    content = message["attachments"][0]["content"]
    assert (content["type"], content["version"]) == ("AdaptiveCard", "1.4")
    assert content["msteams"] == {"width": "Full"}
    assert card_body() == [
        run("[FIRING] 2 alerts: region=eu", weight="Bolder", size="Large", color="Attention"),
        run("2 alerts are firing for region=eu."),
        run(
            "[FIRING] [HIGH] payments: checkout_errors \u00b7 alert_id a-1 \u00b7"
            " 2023-11-14T22:13:20Z \u00b7 note=<b>&, region=eu"
        ),
        # A text run is never Markdown: the hostile text is shown as written.
        run(
            f"[FIRING] [CRITICAL] {HOSTILE}: {HOSTILE} \u00b7 alert_id a-2 \u00b7"
            f" 2023-11-14T22:14:20Z \u00b7 {HOSTILE}={HOSTILE}"
        ),
        run(IDS, isSubtle=True),
    ]


def test_alert_text_is_only_ever_in_text_runs() -> None:
    for block in card_body():
        assert block["type"] == "RichTextBlock"
        assert all(inline["type"] == "TextRun" for inline in block["inlines"])


def test_twenty_members_are_listed_then_and_n_more() -> None:
    found = texts(digest_of(523))
    listed = found[2:-2]
    assert len(listed) == 20
    assert all(f"alert_id a-{i} \u00b7" in line for i, line in enumerate(listed))
    assert found[-2] == "and 503 more (the console and the API list every member)"
    assert len(texts(digest_of(20))) == 2 + 20 + 1


def test_a_resolved_digest_is_green_and_says_how_many_still_fire() -> None:
    resolved = dataclasses.replace(D, kind="resolved", still_firing=3)
    head, said, *_ = card_body(resolved)
    assert head["inlines"][0]["color"] == "Good"
    assert said == run("2 alerts are resolved for region=eu; 3 of the group still firing.")


def test_members_whose_text_would_overflow_the_card_go_to_and_more() -> None:
    # Astral characters are 12 bytes each in the JSON: 20 full lines would be ~120 KB.
    wide = dataclasses.replace(N, name="\U0001f525" * 600)
    huge = dataclasses.replace(D, members=(wide,) * 10_000)
    raw = digest_body(huge)
    assert len(raw) < 28_000
    found = texts(huge)
    listed = found[2:-2]
    assert 0 < len(listed) < 20
    assert found[-2].startswith(f"and {10_000 - len(listed)} more ")


async def test_deliver_digest_posts_the_card() -> None:
    via = Recorded()
    url = "https://prod-00.westeurope.logic.azure.com/workflows/x"
    found = await DIGESTS.deliver_digest(D, target("teams", url), via.outbound())
    assert found == via.answer
    [(sent_url, sent, headers, _)] = via.posts
    assert (sent_url, sent) == (url, digest_body(D))
    assert headers["Content-Type"] == "application/json"


def test_the_registered_channel_delivers_digests() -> None:
    assert isinstance(CHANNEL, DigestChannel)
