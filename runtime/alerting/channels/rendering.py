"""What the chat and incident channels (Slack, Teams, PagerDuty) show of a notification,
defined once so that their headlines and field lists never drift apart; and what every
channel shows of a digest's members (``member_line``), for the same reason.

Alert fields are caller-supplied: everything here goes through ``shown`` (no line breaks
or bidi overrides); each channel then applies its own markup escaping. Limits are the
receivers' (Slack's 150-character header, PagerDuty's 1,024-character summary): a text
over one is cut and ends with an ellipsis, so a reader sees it was cut.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from alerting.domain.delivery_messages import Digest, OutgoingNotification, shown
from alerting.domain.model import Severity

ELLIPSIS = "\u2026"
TEST_MARK = "[TEST] "
# A member's context on its digest line: enough to tell members apart (region, host),
# short enough that the line stays one line in a mail client or a chat window.
CONTEXT_SUMMARY_LIMIT = 200
# Lowest first, as the enum declares them; an unknown severity ranks below LOW.
_SEVERITY_RANK = {s.value: rank for rank, s in enumerate(Severity)}


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


def member_line(n: OutgoingNotification) -> str:
    """A digest member on one line, plain text (``shown``; each channel applies its own
    markup escaping): the headline a single notification would have, the alert id, the
    event time and a summary of the context, e.g.
    ``[FIRING] [HIGH] payments: checkout_errors · alert_id a-1 · 2023-11-14T22:13:20Z ·
    region=eu``."""
    parts = [headline(n), f"alert_id {shown(n.alert_id)}", rfc3339(n.event_ts)]
    if n.context:
        summary = ", ".join(f"{k}={v}" for k, v in context(n))
        parts.append(clip(summary, CONTEXT_SUMMARY_LIMIT))
    return " \u00b7 ".join(parts)


def listed(d: Digest, limit: int) -> tuple[tuple[OutgoingNotification, ...], int]:
    """The members a summary lists (the first ``limit``, in the digest's order) and how
    many it leaves out."""
    return d.members[:limit], max(0, len(d.members) - limit)


def more_line(left_out: int) -> str:
    """What a summary says after its list: a chat message cannot list thousands of
    alerts, the console and the API list them all."""
    return f"and {left_out} more (the console and the API list every member)"


def digest_sentence(
    d: Digest,
    escape: Callable[[str], str] = shown,
    strong: Callable[[str], str] = lambda text: text,
) -> str:
    """What a digest says under its title: how many alerts, in which state, for which
    labels, and for a resolved digest how many of the group still fire. ``escape`` is
    the channel's for alert text (a label's value), ``strong`` its emphasis."""
    count = len(d.members)
    state = "still firing" if d.repeat else ("resolved" if d.resolved else "firing")
    said = f"{strong(str(count))} {'alert is' if count == 1 else 'alerts are'} {strong(state)}"
    if d.labels:
        said += " for " + " ".join(f"{escape(k)}={escape(v)}" for k, v in sorted(d.labels.items()))
    if d.resolved and d.still_firing:
        said += f"; {d.still_firing} of the group still firing"
    return said + "."


def digest_ids(d: Digest) -> str:
    """The ids a reader quotes to find the digest in the console or the API."""
    return f"group_id {d.group_id} \u00b7 digest_id {d.digest_id} \u00b7 digest {d.seq}"


def highest_severity(d: Digest) -> str:
    """The most severe of the members' severities (``CRITICAL`` > ``HIGH`` > ...)."""
    return max((n.severity for n in d.members), key=lambda s: _SEVERITY_RANK.get(s, -1))
