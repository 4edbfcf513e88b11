"""Microsoft Teams, through a Workflows (Power Automate) incoming webhook: a message with
one Adaptive Card (version 1.4).

The card: the headline (kind and severity first, in red while firing and green once
resolved), a sentence saying what happened, a FactSet of the notification's fields and
one of the alert's context.

Alert text is caller-supplied, and Teams reads Markdown in a TextBlock and in a fact's
title and value (bold, italic, lists, links). So the headline and the sentence are
``RichTextBlock`` text runs, which Adaptive Cards never read as Markdown, and every fact
has the Markdown specials backslash-escaped (``\\*``, ``\\_``, ``\\[``, ...) and a leading
list or heading marker escaped, so ``[x](http://evil)`` or ``**urgent**`` in an alert
shows as written. (A bare URL in alert text may still be shown as a link by the client:
that is the reader's click, not markup.)

Teams refuses a card over about 28 KB: values are clipped and the context is cut to fit
a budget under that, with a last fact saying how many entries were left out.

A digest's card (``digest_card``) is one summary: its title, a sentence with the count,
the first ``DIGEST_LISTED`` members one text run each (fewer if their text would take
the card over its budget), and "and N more". Every part is a text run, so no alert text
in it is read as Markdown.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from alerting.channels.base import Channel, DigestChannel
from alerting.channels.http_url import HttpRequest, JsonChannel
from alerting.channels.rendering import (
    ELLIPSIS,
    clip,
    context,
    digest_ids,
    digest_sentence,
    facts,
    headline,
    listed,
    member_line,
    more_line,
)
from alerting.domain.delivery import Target
from alerting.domain.delivery_messages import Digest, OutgoingNotification, shown
from alerting.domain.delivery_rate import Rate

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"
# Teams' limit is ~28 KB for the whole message; the card's own text takes a few KB.
CARD_BUDGET_BYTES = 24_000
TITLE_LIMIT = 256
FACT_TITLE_LIMIT = 100
FACT_VALUE_LIMIT = 1000
# A digest lists this many members (as Slack does), each line cut at MEMBER_LIMIT, and
# fewer when their text would take the card over its budget.
DIGEST_LISTED = 20
MEMBER_LIMIT = 500
# The inline Markdown Teams renders; each such character is backslash-escaped anywhere.
_INLINE = re.compile(r"([\\*_`~\[\]<>])")
# A line start Markdown reads as a list or a heading ("- x", "+ x", "1. x", "# x").
_BLOCK_START = re.compile(r"^(\s*)([-+#](?=\s|$)|\d+(?=[.)](?:\s|$)))")


def escape(text: str) -> str:
    """Plain text for a TextBlock or a fact: no line breaks (``shown``) and no Markdown."""
    inline = _INLINE.sub(r"\\\1", shown(text))
    return _BLOCK_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[2] in "-+#" else m[0] + "\\", inline)


def _fact(title: str, value: str, own_title: bool = False) -> dict[str, str]:
    """A fact; clipped, then escaped (a list marker is only one at the start of the
    whole). Our own labels (``alert_id``) are shown as they are."""
    return {
        "title": title if own_title else escape(clip(title, FACT_TITLE_LIMIT)),
        "value": escape(clip(value, FACT_VALUE_LIMIT)),
    }


def _size(item: object) -> int:
    return len(json.dumps(item, separators=(",", ":")).encode())


def _context_facts(pairs: list[tuple[str, str]], budget: int) -> list[dict[str, str]]:
    """The context's facts that fit ``budget`` bytes; then one saying what was left out."""
    found: list[dict[str, str]] = []
    for index, (key, value) in enumerate(pairs):
        fact = _fact(key, value)
        budget -= _size(fact) + 1
        if budget < 0:
            found.append(_fact(ELLIPSIS, f"{len(pairs) - index} more context entries not shown"))
            break
        found.append(fact)
    return found


def _sentence(n: OutgoingNotification) -> str:
    state = "resolved" if n.resolved else "firing"
    said = (
        f"Alert {shown(n.name)} from {shown(n.source)} is {state}"
        f" (severity {n.severity}, episode {n.episode})."
    )
    return "A test send: no alert is behind it. " + said if n.test else said


def _runs(text: str, **style: str | bool) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def _title(text: str, resolved: bool) -> dict[str, Any]:
    color = "Good" if resolved else "Attention"
    return _runs(clip(text, TITLE_LIMIT), weight="Bolder", size="Large", color=color)


def card(n: OutgoingNotification) -> dict[str, Any]:
    """The Adaptive Card (the attachment's content)."""
    body: list[dict[str, Any]] = [
        _title(headline(n), n.resolved),
        _runs(clip(_sentence(n), FACT_VALUE_LIMIT)),
        {"type": "FactSet", "facts": [_fact(k, v, own_title=True) for k, v in facts(n)]},
    ]
    pairs = context(n)
    if pairs:
        body.append(_runs("Context", weight="Bolder"))
        budget = CARD_BUDGET_BYTES - _size(body)
        body.append({"type": "FactSet", "facts": _context_facts(pairs, budget)})
    return _card(body)


def digest_card(d: Digest) -> dict[str, Any]:
    """The digest's Adaptive Card: one summary, whatever the number of members."""
    members, left_out = listed(d, DIGEST_LISTED)
    body = [_title(d.title, d.resolved), _runs(clip(digest_sentence(d), FACT_VALUE_LIMIT))]
    ids_run = _runs(digest_ids(d), isSubtle=True)
    # The "and N more" run is at most ~100 bytes: kept out of the budget up front.
    budget = CARD_BUDGET_BYTES - _size(body) - _size(ids_run) - 200
    for index, n in enumerate(members):
        run = _runs(clip(member_line(n), MEMBER_LIMIT))
        budget -= _size(run) + 1
        if budget < 0:  # non-ASCII text is 6 to 12 bytes a character in the JSON
            left_out += len(members) - index
            break
        body.append(run)
    if left_out:
        body.append(_runs(more_line(left_out), isSubtle=True))
    body.append(ids_run)
    return _card(body)


def _card(body: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
        "msteams": {"width": "Full"},
    }


def body(n: OutgoingNotification) -> bytes:
    return _message(card(n))


def digest_body(d: Digest) -> bytes:
    return _message(digest_card(d))


def _message(content: dict[str, Any]) -> bytes:
    message = {
        "type": "message",
        "attachments": [{"contentType": CARD_TYPE, "content": content}],
    }
    return json.dumps(message, separators=(",", ":")).encode()


class TeamsChannel(JsonChannel):
    name = "teams"
    # Microsoft documents no number for Workflows webhooks; its connector webhooks were
    # throttled above four requests a second, and Graph allows an app two channel
    # messages a second per tenant. One a second, four at once, stays under both.
    default_rate = Rate(per_s=1.0, burst=4)

    def document(self, n: OutgoingNotification, target: Target) -> bytes:
        return body(n)

    def digest_document(self, d: Digest, target: Target) -> bytes:
        return digest_body(d)


CHANNEL: Channel[HttpRequest] = TeamsChannel()
if TYPE_CHECKING:  # mypy proves the class delivers digests (dispatch checks at run time)
    _DIGESTS: DigestChannel[HttpRequest] = TeamsChannel()
