"""Webhooks: the notification as compact JSON, signed with the endpoint's secret.

Rendering is pure so that tests pin the exact bytes a receiver verifies; docs/sender.md
documents the contract (fields, headers, signature) for receivers.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from alerting.channels import templated
from alerting.channels.base import Channel, Outbound
from alerting.channels.http_url import USER_AGENT, HttpRequest, UrlChannel, post
from alerting.domain.delivery import Attempt, Target
from alerting.domain.delivery_messages import OutgoingNotification

SIGNATURE_VERSION = "v1"


def body(n: OutgoingNotification) -> bytes:
    """Compact, key-sorted JSON: the exact bytes the signature covers. ``status`` is the
    notification's kind (firing or resolved) and ``episode`` the alert's episode it
    belongs to: a receiver pairs a resolved with its firing by (alert_id, episode)."""
    payload = {
        "notification_id": n.notification_id,
        "status": n.kind,
        "episode": n.episode,
        "client_id": n.client_id,
        "alert_id": n.alert_id,
        "severity": n.severity,
        "source": n.source,
        "name": n.name,
        "context": dict(n.context),
        "rule_ids": list(n.rule_ids),
        "event_ts": n.event_ts,
    }
    if n.test:
        payload["test"] = True  # a test send (POST /api/v1/endpoints/{id}/test)
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``; the timestamp in the MAC
    lets receivers reject replays of an old request."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def headers(
    n: OutgoingNotification, secret: str | None, timestamp: int, body: bytes, user_agent: str
) -> dict[str, str]:
    found = {
        "Content-Type": "application/json",
        "User-Agent": user_agent,
        "Idempotency-Key": n.notification_id,
        "X-Alerting-Timestamp": str(timestamp),
    }
    if secret:
        found["X-Alerting-Signature"] = sign(secret, timestamp, body)
    return found


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (documented in docs/sender.md); used by the tests."""
    if not timestamp.isdigit():
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


class WebhookChannel(UrlChannel):
    name = "webhook"
    signed = True  # the secret is the receiver's proof that a request came from us

    def render(
        self, n: OutgoingNotification, target: Target, outbound: Outbound, now_s: float
    ) -> HttpRequest:
        # A ``body`` template's output is sent, and signed, byte for byte.
        content = body(n)
        if target.templates:
            content = templated.part(n, target, "body", content.decode).encode()
        timestamp = int(now_s)
        return HttpRequest(
            target.value, content, headers(n, target.signing_secret, timestamp, content, USER_AGENT)
        )

    async def deliver(self, n: OutgoingNotification, target: Target, outbound: Outbound) -> Attempt:
        return await post(outbound, self.render(n, target, outbound, outbound.wall_clock()))


CHANNEL: Channel[HttpRequest] = WebhookChannel()
