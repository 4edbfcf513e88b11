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


@dataclass(frozen=True, slots=True)
class Digest:
    """One message of a group (``domain.grouping``): several notifications of one
    client, one endpoint and one kind, delivered together. ``digest_id`` is the same on
    every try of it (a webhook's ``webhook-id``), and so are its members."""

    digest_id: str
    group_id: str
    client_id: str
    kind: str  # FIRING or RESOLVED: never both in one digest
    labels: Mapping[str, str]  # the group's group_by values ({} when group_by is empty)
    members: tuple[OutgoingNotification, ...]
    seq: int = 1  # 1 for the group's first digest, then 2, 3...
    # A re-announcement of members still firing (repeat_interval_s), not new ones.
    repeat: bool = False
    # The group's members whose episode is still open once this digest is out: a
    # resolved digest that leaves none resolves the group's incident (PagerDuty).
    still_firing: int = 0
    attempts: int = 1  # including the current try

    @property
    def resolved(self) -> bool:
        return self.kind == RESOLVED

    @property
    def title(self) -> str:
        """One line, like ``OutgoingNotification.title``: the kind, the count and the
        group's labels, e.g. ``[FIRING] 523 alerts: severity=HIGH source=billing``."""
        count = len(self.members)
        noun = "alert" if count == 1 else "alerts"
        shown_labels = " ".join(f"{k}={_one_line(v)}" for k, v in sorted(self.labels.items()))
        head = f"[{self.kind.upper()}] {count} {noun}"
        if self.repeat:
            head += " still firing"
        return f"{head}: {shown_labels}" if shown_labels else head


def shown(text: str) -> str:
    """Caller-supplied text as a channel may show it. Ingest refuses line breaks, other
    controls and bidi overrides, but a row stored before it did must not forge lines
    or reorder text either: each such character is written as its escape (``\\u000a``)."""
    return VALUE.neutralised(text)


def _one_line(text: str) -> str:
    return shown(" ".join(text.split()))
