"""What the sender sends: the webhook body and its signature, the Slack payload, the email.

Rendering is pure so that tests can pin the exact bytes a receiver verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

SIGNATURE_VERSION = "v1"


@dataclass(frozen=True, slots=True)
class Notification:
    """A claimed notification, as the sender delivers it."""

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

    @property
    def title(self) -> str:
        return f"[{self.severity}] {_one_line(self.source)}: {_one_line(self.name)}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def webhook_body(n: Notification) -> bytes:
    """Compact, key-sorted JSON: the exact bytes the signature covers."""
    payload = {
        "notification_id": n.notification_id,
        "client_id": n.client_id,
        "alert_id": n.alert_id,
        "severity": n.severity,
        "source": n.source,
        "name": n.name,
        "context": dict(n.context),
        "rule_ids": list(n.rule_ids),
        "event_ts": n.event_ts,
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``; the timestamp in the MAC
    lets receivers reject replays of an old request."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def webhook_headers(
    n: Notification, secret: str | None, timestamp: int, body: bytes, user_agent: str
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": user_agent,
        "Idempotency-Key": n.notification_id,
        "X-Alerting-Timestamp": str(timestamp),
    }
    if secret:
        headers["X-Alerting-Signature"] = sign(secret, timestamp, body)
    return headers


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(n: Notification) -> bytes:
    """An incoming-webhook payload: ``text`` for notifications, blocks for the channel."""
    title = _slack_escape(n.title)
    fields = [f"*alert_id:* {_slack_escape(n.alert_id)}", f"*event_ts:* <!date^{n.event_ts}"
              f"^{{date_short_pretty}} {{time_secs}}|{n.event_ts}>"]  # fmt: skip
    fields += [f"*{_slack_escape(k)}:* {_slack_escape(v)}" for k, v in sorted(n.context.items())]
    payload = {
        "text": title,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": n.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(fields)[:3000]}},
        ],
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def email_text(n: Notification) -> str:
    lines = [
        n.title,
        "",
        f"severity:        {n.severity}",
        f"source:          {n.source}",
        f"name:            {n.name}",
        f"alert_id:        {n.alert_id}",
        f"event_ts:        {formatdate(n.event_ts, usegmt=True)} ({n.event_ts})",
        f"client_id:       {n.client_id}",
        f"notification_id: {n.notification_id}",
        f"rules:           {', '.join(n.rule_ids)}",
    ]
    if n.context:
        lines += ["", "context:"] + [f"  {k}: {v}" for k, v in sorted(n.context.items())]
    return "\n".join(lines) + "\n"


def email_message(n: Notification, to: str, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = n.title
    msg["Date"] = formatdate(usegmt=True)
    # The sender's own domain: without one, make_msgid asks the resolver for this
    # host's FQDN on every call, a look-up per email.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "alerting.invalid"
    msg["Message-ID"] = make_msgid(idstring=n.notification_id.replace("-", ""), domain=domain)
    msg["X-Alerting-Notification-Id"] = n.notification_id
    msg.set_content(email_text(n))
    return msg


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (documented in docs/sender.md); used by the tests."""
    if not timestamp.isdigit():
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)
