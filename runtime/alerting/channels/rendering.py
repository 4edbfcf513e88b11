"""What the chat and incident channels (Slack, Teams, PagerDuty) show of a notification,
defined once so that their headlines and field lists never drift apart.

Alert fields are caller-supplied: everything here goes through ``shown`` (no line breaks
or bidi overrides); each channel then applies its own markup escaping. Limits are the
receivers' (Slack's 150-character header, PagerDuty's 1,024-character summary): a text
over one is cut and ends with an ellipsis, so a reader sees it was cut.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from alerting.domain.delivery_messages import OutgoingNotification, shown

ELLIPSIS = "\u2026"
TEST_MARK = "[TEST] "


def headline(n: OutgoingNotification) -> str:
    """The title, kind and severity first; a test send says so before anything else, so
    nobody acts on it (and a receiver's automation can tell it from an incident)."""
    return TEST_MARK + n.title if n.test else n.title


def rfc3339(unix_s: int) -> str:
    """``2023-11-14T22:13:20Z``: what PagerDuty's ``timestamp`` takes, readable as is."""
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def facts(n: OutgoingNotification) -> list[tuple[str, str]]:
    """The notification's own fields as (label, value), in reading order; the alert's
    context follows them separately (``context``)."""
    found = [
        ("status", f"{n.kind} (episode {n.episode})"),
        ("severity", n.severity),
        ("source", shown(n.source)),
        ("name", shown(n.name)),
        ("alert_id", shown(n.alert_id)),
        ("event_ts", rfc3339(n.event_ts)),
        ("client_id", n.client_id),
        ("notification_id", n.notification_id),
        ("rules", ", ".join(n.rule_ids)),
    ]
    if n.test:
        found.insert(0, ("test", "a test send: no alert behind it"))
    return found


def context(n: OutgoingNotification) -> list[tuple[str, str]]:
    """The alert's context, sorted by key (the order does not depend on the sender)."""
    return [(shown(k), shown(v)) for k, v in sorted(n.context.items())]


def clip(text: str, limit: int) -> str:
    """``text``, or its start and an ellipsis in ``limit`` characters."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def clip_escaped(text: str, escape: Callable[[str], str], limit: int) -> str:
    """``escape(text)`` in at most ``limit`` characters. Cut before escaping, never after:
    a cut escaped text could end inside an entity (``&am``), which a receiver would show
    half-decoded or refuse."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    # Escaping is per character (an entity or a backslash for one character), so the
    # characters are escaped one by one until the next one would not fit.
    parts: list[str] = []
    room = limit - len(ELLIPSIS)
    for char in text:
        piece = escape(char)
        if len(piece) > room:
            break
        parts.append(piece)
        room -= len(piece)
    return "".join(parts) + ELLIPSIS
