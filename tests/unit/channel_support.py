"""Shared by the channel unit tests: one notification, a digest of two (one of them
hostile: markup and mentions in every field), and an ``Outbound`` whose transports
record what they are asked to send instead of sending it.

Not a test module: ``test_channel_*.py`` import from here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from alerting.channels.base import Outbound, UrlPolicy
from alerting.channels.mail_message import MailMessage
from alerting.domain.delivery import Attempt, Target
from alerting.domain.delivery_messages import Digest, OutgoingNotification

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
HOSTILE = "<!channel> & <@U123> *[x](http://evil)*"
# A second member whose every caller-supplied field is markup, a mention or a link.
N2 = dataclasses.replace(
    N,
    notification_id="0b7c4a52-1d2e-4f60-8a71-9c3e5d2f4b18",
    alert_id="a-2",
    severity="CRITICAL",
    source=HOSTILE,
    name=HOSTILE,
    event_ts=1_700_000_060,
    context={HOSTILE: HOSTILE},
)
D = Digest(
    digest_id="9d3c2b1a-0f4e-4d5c-8b6a-7e8f9a0b1c2d",
    group_id="5e2a7c9b-3d1f-4a6e-9c8b-2f1e0d3c4b5a",
    client_id="acme",
    kind="firing",
    labels={"region": "eu"},
    members=(N, N2),
    seq=2,
)


def resolved_of(d: Digest, **changes: object) -> Digest:
    """``d`` as a resolved digest: its members' resolved notifications."""
    members = tuple(dataclasses.replace(n, kind="resolved") for n in d.members)
    return dataclasses.replace(d, kind="resolved", members=members, **changes)  # type: ignore[arg-type]


def strings(value: object) -> list[str]:
    """Every string value of a JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def digest_of(count: int, **changes: object) -> Digest:
    """A digest of ``count`` members a-0, a-1... (``changes`` for the Digest's fields)."""
    members = tuple(
        dataclasses.replace(N, notification_id=f"n-{i}", alert_id=f"a-{i}") for i in range(count)
    )
    return dataclasses.replace(D, members=members, **changes)  # type: ignore[arg-type]


def target(type_: str, value: str, secret: str | None = None) -> Target:
    return Target(type_, value, secret, ("e-1",), None)


async def public_resolver(host: str, port: int) -> list[str]:
    return ["93.184.215.14"]


PUBLIC = UrlPolicy(allow_private=False, resolver=public_resolver)


@dataclass
class Recorded:
    """Fake transports and guard: every call is kept; answers are scripted."""

    posts: list[tuple[str, bytes, dict[str, str], float]] = field(default_factory=list)
    mails: list[tuple[MailMessage, str]] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # url -> refusal
    answer: Attempt = field(default_factory=lambda: Attempt.sent(200))

    async def post(self, url: str, body: bytes, headers: dict[str, str], now_s: float) -> Attempt:
        self.posts.append((url, body, headers, now_s))
        return self.answer

    async def send(self, message: MailMessage, recipient: str) -> Attempt:
        self.mails.append((message, recipient))
        return self.answer

    async def refusal(self, url: str) -> str | None:
        return self.refused.get(url)

    def outbound(self, now_s: float = NOW_S) -> Outbound:
        return Outbound(self, self, self, "alerts@alerting.local", lambda: now_s)
