"""What the sender delivers: a claimed notification, channel-neutral.

Each channel renders it its own way (``alerting.channels.builtin``); what every rendering
shares, the one-line title, is defined here once so an email subject and a Slack header
never drift apart. A notification is one side of an episode of its alert (``kind``):
the ``firing`` one, or the ``resolved`` one that follows it (docs/lifecycle.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from alerting.domain.text import VALUE

FIRING = "firing"
RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class OutgoingNotification:
    """A claimed notification, as the sender delivers it (not the rule-service's
    ``Notification`` response model, which is what an operator reads back)."""

    notification_id: str
    client_id: str
    alert_id: str
    severity: str
    source: str
    name: str
    event_ts: int  # unix seconds
    rule_ids: tuple[str, ...]
    attempts: int  # including the current claim
    context: Mapping[str, str] = field(default_factory=dict)
    kind: str = FIRING  # FIRING or RESOLVED
    episode: int = 1  # the alert's episode this notification opens (firing) or closes
    # A test send (POST /api/v1/endpoints/{id}/test): no alert behind it, and every
    # rendering says so, so a receiver's automation can tell it from an incident.
    test: bool = False

    @property
    def resolved(self) -> bool:
        return self.kind == RESOLVED

    @property
    def title(self) -> str:
        # One line: alert fields are caller-supplied, and a newline in a subject would
        # start a new email header. The kind comes first: a reader scanning an inbox or
        # a channel must tell a recovery from an incident before anything else.
        return (
            f"[{self.kind.upper()}] [{self.severity}] {_one_line(self.source)}:"
            f" {_one_line(self.name)}"
        )


def shown(text: str) -> str:
    """Caller-supplied text as a channel may show it. Ingest refuses line breaks, other
    controls and bidi overrides, but a row stored before it did must not forge lines
    or reorder text either: each such character is written as its escape (``\\u000a``)."""
    return VALUE.neutralised(text)


def _one_line(text: str) -> str:
    return shown(" ".join(text.split()))
