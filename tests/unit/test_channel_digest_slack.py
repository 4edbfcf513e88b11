"""A Slack digest: one summary (the title, the count, the first 20 members, "and N
more"), every mention and link in alert text escaped, within Slack's limits whatever
the digest's size."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from alerting.channels.base import DigestChannel
from alerting.channels.builtin.slack import CHANNEL, SlackChannel, digest_body
from tests.unit.channel_support import NOW_S, D, N, Recorded, digest_of, strings, target

DIGESTS = SlackChannel()
ESCAPED = "&lt;!channel&gt; &amp; &lt;@U123&gt; *[x](http://evil)*"
IDS = f"group_id {D.group_id} \u00b7 digest_id {D.digest_id} \u00b7 digest 2"


def payload(d: Any = D) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(digest_body(d))
    return found


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def test_the_digest_is_exactly_these_blocks() -> None:
    assert payload() == {
        "text": "[FIRING] 2 alerts: region=eu",
        "blocks": [
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": "[FIRING] 2 alerts: region=eu",
                    "emoji": False,
                },
            },
            section(":rotating_light: *2* alerts are *firing* for region=eu."),
            section(
                "[FIRING] [HIGH] payments: checkout_errors \u00b7 alert_id a-1 \u00b7"
                " 2023-11-14T22:13:20Z \u00b7 note=&lt;b&gt;&amp;, region=eu"
            ),
            section(
                f"[FIRING] [CRITICAL] {ESCAPED}: {ESCAPED} \u00b7 alert_id a-2 \u00b7"
                f" 2023-11-14T22:14:20Z \u00b7 {ESCAPED}={ESCAPED}"
            ),
            {"type": "context", "elements": [{"type": "mrkdwn", "text": IDS, "verbatim": True}]},
        ],
    }


def test_no_mention_or_link_survives_in_any_string() -> None:
    hostile_labels = dataclasses.replace(D, labels={"source": "<!here>"})
    raw = digest_body(hostile_labels).decode()
    assert "<!" not in raw and "<@" not in raw and "<http" not in raw
    for text in strings(payload(hostile_labels)):
        assert "<" not in text and ">" not in text


def test_twenty_members_are_listed_then_and_n_more() -> None:
    found = payload(digest_of(523))
    listed = [b["text"]["text"] for b in found["blocks"][2:-2]]
    assert len(listed) == 20
    assert all(f"alert_id a-{i} \u00b7" in line for i, line in enumerate(listed))
    assert found["blocks"][-2] == section(
        "and 503 more (the console and the API list every member)"
    )
    assert found["blocks"][0]["text"]["text"] == "[FIRING] 523 alerts: region=eu"


def test_twenty_members_or_fewer_have_no_and_more() -> None:
    found = payload(digest_of(20))
    assert len(found["blocks"]) == 2 + 20 + 1
    assert not any("more" in s for s in strings(found))


def test_ten_thousand_members_stay_within_slacks_limits() -> None:
    long_name = dataclasses.replace(N, name="n" * 5000, alert_id="a" * 5000)
    huge = dataclasses.replace(digest_of(10_000), members=(long_name, *digest_of(9_999).members))
    found = payload(huge)
    blocks = found["blocks"]
    assert len(blocks) <= 50
    assert len(blocks[0]["text"]["text"]) <= 150
    assert len(found["text"]) <= 3000
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(text) <= 500 for text in sections)
    assert sections[1].endswith("\u2026")  # the long member's line was cut, visibly
    assert sections[-1].startswith("and 9980 more")


def test_a_resolved_digest_says_how_many_still_fire() -> None:
    resolved = dataclasses.replace(D, kind="resolved", still_firing=7)
    said = payload(resolved)["blocks"][1]["text"]["text"]
    assert said == (
        ":white_check_mark: *2* alerts are *resolved* for region=eu; 7 of the group still firing."
    )
    repeat = payload(dataclasses.replace(D, repeat=True))["blocks"][1]["text"]["text"]
    assert repeat == ":rotating_light: *2* alerts are *still firing* for region=eu."


async def test_deliver_digest_posts_the_summary_unsigned() -> None:
    via = Recorded()
    url = "https://hooks.slack.com/services/T/B/X"
    templated = dataclasses.replace(target("slack", url), templates={"text": "{{ name }}"})
    found = await DIGESTS.deliver_digest(D, templated, via.outbound())
    assert found == via.answer
    [(sent_url, sent, headers, now_s)] = via.posts
    # An endpoint's text template renders one notification: not applied to a digest.
    assert (sent_url, sent, now_s) == (url, digest_body(D), NOW_S)
    assert headers["Content-Type"] == "application/json" and "webhook-signature" not in headers


def test_the_registered_channel_delivers_digests() -> None:
    assert isinstance(CHANNEL, DigestChannel)
