"""Shared by the channel unit tests: one notification, and an ``Outbound`` whose
transports record what they are asked to send instead of sending it.

Not a test module: ``test_channel_*.py`` import from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage

from alerting.channels.base import Outbound, UrlPolicy
from alerting.domain.delivery import Attempt, Target
from alerting.domain.delivery_messages import OutgoingNotification

N = OutgoingNotification(
    notification_id="6f1c0d1e-8a8e-4a43-9d5c-2b1d4c9e0a11",
    client_id="acme",
    alert_id="a-1",
    severity="HIGH",
    source="payments",
    name="checkout_errors",
    event_ts=1_700_000_000,
    rule_ids=("r-1", "r-2"),
    attempts=1,
    context={"region": "eu", "note": "<b>&"},
)
NOW_S = 1_700_000_005.75


def target(type_: str, value: str, secret: str | None = None) -> Target:
    return Target(type_, value, secret, ("e-1",), None)


async def public_resolver(host: str, port: int) -> list[str]:
    return ["93.184.215.14"]


PUBLIC = UrlPolicy(allow_private=False, resolver=public_resolver)


@dataclass
class Recorded:
    """Fake transports and guard: every call is kept; answers are scripted."""

    posts: list[tuple[str, bytes, dict[str, str], float]] = field(default_factory=list)
    mails: list[tuple[EmailMessage, str]] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # url -> refusal
    answer: Attempt = field(default_factory=lambda: Attempt.sent(200))

    async def post(self, url: str, body: bytes, headers: dict[str, str], now_s: float) -> Attempt:
        self.posts.append((url, body, headers, now_s))
        return self.answer

    async def send(self, message: EmailMessage, recipient: str) -> Attempt:
        self.mails.append((message, recipient))
        return self.answer

    async def refusal(self, url: str) -> str | None:
        return self.refused.get(url)

    def outbound(self, now_s: float = NOW_S) -> Outbound:
        return Outbound(self, self, self, "alerts@alerting.local", lambda: now_s)
