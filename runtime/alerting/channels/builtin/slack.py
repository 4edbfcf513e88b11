"""Slack incoming webhooks: a Block Kit message, and ``text`` for the notification popup.

Layout: a header (the headline: kind and severity first), a section with the main text
(replaceable by an endpoint's template: ``body(n, text=...)``), sections of fields (the
notification's fields, then the alert's context), and a context block with the ids.
A digest (``digest_body``) is one summary: a header (its title), a section saying how
many alerts fire or resolved, one section per listed member (the first
``DIGEST_LISTED``), "and N more", and a context block with the group's ids.

Alert fields are caller-supplied. Every text object, ``plain_text`` included, and the
``text`` fallback have ``&``, ``<`` and ``>`` escaped as Slack asks: that is what stops
``<!channel>``, ``<@U123>`` and ``<http://...|links>`` written by an alert from being
mentions or links. mrkdwn objects are also ``verbatim`` (no auto-linking of URLs or
channel names in alert text). Slack has no escape for its emphasis characters
(``*``, ``_``, ``~``, backquote): an alert's asterisks may show as bold, nothing more.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from alerting.channels import templated
from alerting.channels.base import Channel, DigestChannel
from alerting.channels.http_url import HttpRequest, JsonChannel
from alerting.channels.rendering import (
    ELLIPSIS,
    clip_escaped,
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

# Slack's limits (api.slack.com/reference/block-kit): a header's text, a section's text,
# a field's text, fields per section, blocks per message.
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
FIELDS_PER_SECTION = 10
LABEL_LIMIT = 100  # a context key is a label: more would crowd out its value
MAX_BLOCKS = 50
# The header, the main section and the context block; the rest may hold fields.
FIELD_SECTIONS = MAX_BLOCKS - 3
# Shown in the context block rather than as fields: ids a reader quotes, not reads.
IDS = ("client_id", "notification_id", "rules")
# A digest lists this many members: with the header, the main section, "and N more" and
# the ids, 24 blocks of Slack's 50, whatever the digest's size.
DIGEST_LISTED = 20
# A listed member's line: the context summary is already short (``member_line``); this
# bounds a long alert id or name, so 20 members stay a readable screenful.
MEMBER_LIMIT = 500


def escape(text: str) -> str:
    """mrkdwn escapes, and no line breaks or bidi overrides (``shown``)."""
    return shown(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip_mrkdwn(text: str, limit: int) -> str:
    """An already escaped text in ``limit`` characters, never cut inside an entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    entity = cut.rfind("&")
    if entity != -1 and ";" not in cut[entity:]:
        cut = cut[:entity]
    return cut + ELLIPSIS


def _mark(resolved: bool) -> tuple[str, str]:
    return (":white_check_mark:", "resolved") if resolved else (":rotating_light:", "firing")


def main_text(n: OutgoingNotification) -> str:
    """The default main text (escaped mrkdwn): what happened, in one sentence."""
    mark, state = _mark(n.resolved)
    said = (
        f"{mark} Alert *{escape(n.name)}* from *{escape(n.source)}* is *{state}*"
        f" (severity {n.severity}, episode {n.episode})."
    )
    return ":test_tube: A test send: no alert is behind it. " + said if n.test else said


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _field(label: str, value: str) -> dict[str, Any]:
    head = f"*{clip_escaped(label, escape, LABEL_LIMIT)}*\n"
    return _mrkdwn(head + clip_escaped(value, escape, FIELD_LIMIT - len(head)))


def _field_sections(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    room = FIELD_SECTIONS * FIELDS_PER_SECTION
    if len(pairs) > room:
        left = len(pairs) - (room - 1)
        pairs = [*pairs[: room - 1], (ELLIPSIS, f"{left} more context entries not shown")]
    fields = [_field(label, value) for label, value in pairs]
    return [
        {"type": "section", "fields": fields[i : i + FIELDS_PER_SECTION]}
        for i in range(0, len(fields), FIELDS_PER_SECTION)
    ]


def blocks(n: OutgoingNotification, text: str | None = None) -> list[dict[str, Any]]:
    shown_facts = facts(n)
    ids = " \u00b7 ".join(f"{k} {escape(v)}" for k, v in shown_facts if k in IDS)
    fielded = [(k, v) for k, v in shown_facts if k not in IDS] + context(n)
    main = clip_mrkdwn(main_text(n) if text is None else text, SECTION_LIMIT)
    return [
        _header(headline(n)),
        {"type": "section", "text": _mrkdwn(main)},
        *_field_sections(fielded),
        {"type": "context", "elements": [_mrkdwn(clip_mrkdwn(ids, SECTION_LIMIT))]},
    ]


def body(n: OutgoingNotification, text: str | None = None) -> bytes:
    """The webhook's JSON. ``text``, when given, replaces the main section's text (an
    endpoint's template): already escaped mrkdwn (``escape`` each alert value it
    interpolates), clipped to a section's 3,000 characters. The header, the fields, the
    ids and the ``text`` fallback are the same with or without it."""
    return _message(headline(n), blocks(n, text))


def digest_text(d: Digest) -> str:
    """The digest's main text (escaped mrkdwn): how many alerts, in which state."""
    mark, _ = _mark(d.resolved)
    return f"{mark} {digest_sentence(d, escape, lambda text: f'*{text}*')}"


def digest_blocks(d: Digest) -> list[dict[str, Any]]:
    members, left_out = listed(d, DIGEST_LISTED)
    found: list[dict[str, Any]] = [
        _header(d.title),
        {"type": "section", "text": _mrkdwn(clip_mrkdwn(digest_text(d), SECTION_LIMIT))},
    ]
    for n in members:
        line = clip_escaped(member_line(n), escape, MEMBER_LIMIT)
        found.append({"type": "section", "text": _mrkdwn(line)})
    if left_out:
        found.append({"type": "section", "text": _mrkdwn(escape(more_line(left_out)))})
    found.append({"type": "context", "elements": [_mrkdwn(escape(digest_ids(d)))]})
    return found


def digest_body(d: Digest) -> bytes:
    """The digest's JSON: one summary, whatever the number of members."""
    return _message(d.title, digest_blocks(d))


def _header(title: str) -> dict[str, Any]:
    text = clip_escaped(title, escape, HEADER_LIMIT)
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": False}}


def _message(title: str, found: list[dict[str, Any]]) -> bytes:
    # ``text`` is the notification popup's, and what a client without blocks shows.
    payload = {"text": clip_escaped(title, escape, SECTION_LIMIT), "blocks": found}
    return json.dumps(payload, separators=(",", ":")).encode()


class SlackChannel(JsonChannel):
    name = "slack"
    # "About 1 message per second per webhook, short bursts tolerated" (Slack's
    # rate-limit docs, shared/REFERENCE.md); beyond it Slack answers 429.
    default_rate = Rate(per_s=1.0, burst=3)

    def document(self, n: OutgoingNotification, target: Target) -> bytes:
        # A ``text`` template replaces the main section's text (mrkdwn, values escaped).
        text = None
        if target.templates:
            text = templated.part(n, target, "text", lambda: main_text(n))
        return body(n, text)

    def digest_document(self, d: Digest, target: Target) -> bytes:
        # No ``text`` template: it renders one notification (docs/integrations.md).
        return digest_body(d)


CHANNEL: Channel[HttpRequest] = SlackChannel()
if TYPE_CHECKING:  # mypy proves the class delivers digests (dispatch checks at run time)
    _DIGESTS: DigestChannel[HttpRequest] = SlackChannel()
