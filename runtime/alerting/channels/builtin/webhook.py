"""Webhooks: the notification as compact JSON, signed per Standard Webhooks v1
(``alerting.channels.standard_webhooks``) with the endpoint's secret; a digest as a JSON
array of exactly those objects, signed the same way under the digest's id.

Rendering is pure so that tests pin the exact bytes a receiver verifies;
docs/integrations.md ("Webhooks") documents the contract (fields, headers, signature,
rotation, 410 Gone) for receivers.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from alerting.channels import templated
from alerting.channels.base import Channel, DigestChannel, Outbound
from alerting.channels.http_url import USER_AGENT, HttpRequest, UrlChannel, post
from alerting.channels.standard_webhooks import signature_header
from alerting.domain.delivery import Attempt, Target, receiver_gone
from alerting.domain.delivery_messages import Digest, OutgoingNotification

# ``json.dumps`` with these options builds an encoder per call; this one writes the same
# bytes. No circular check: ``body`` builds its payload of strings, numbers and one
# level of dict and list, which cannot refer to itself.
_COMPACT_SORTED = json.JSONEncoder(separators=(",", ":"), sort_keys=True, check_circular=False)


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
    return _COMPACT_SORTED.encode(payload).encode()


def headers(
    n: OutgoingNotification, target: Target, timestamp: int, body: bytes, user_agent: str
) -> dict[str, str]:
    """Standard Webhooks headers: ``webhook-id`` is the notification's id, the same on
    every retry (the receiver's idempotency key, also sent as ``Idempotency-Key``);
    ``webhook-timestamp`` is this attempt's; ``webhook-signature`` holds one signature
    per valid secret (the current one, then a rotated-out one still in its grace
    period). Without a secret there is no signature header (the sender refuses to
    call a signed channel then: ``services/sender/channels.py``)."""
    return _signed(n.notification_id, target, timestamp, body, user_agent)


def digest_body(d: Digest) -> bytes:
    """A JSON array of the members, each item byte for byte the ``body`` a single
    notification would have had: a receiver parses an item with the code that parses a
    single notification. Joined rather than re-serialised so that stays true."""
    return b"[" + b",".join(body(n) for n in d.members) + b"]"


def digest_headers(
    d: Digest, target: Target, timestamp: int, body: bytes, user_agent: str
) -> dict[str, str]:
    """As ``headers``, under the digest's id (the same on every try of it, and after a
    takeover: its members are delivered once to a receiver that de-duplicates), and
    naming the group and the digest's place in it."""
    found = _signed(d.digest_id, target, timestamp, body, user_agent)
    found["X-Alerting-Group-Id"] = d.group_id
    found["X-Alerting-Digest-Seq"] = str(d.seq)
    return found


def _signed(
    message_id: str, target: Target, timestamp: int, body: bytes, user_agent: str
) -> dict[str, str]:
    found = {
        "Content-Type": "application/json",
        "User-Agent": user_agent,
        "Idempotency-Key": message_id,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
    }
    valid = (target.signing_secret, target.previous_secret)
    signatures = signature_header(valid, message_id, timestamp, body)
    if signatures is not None:
        found["webhook-signature"] = signatures
    return found


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
        found = headers(n, target, int(now_s), content, USER_AGENT)
        return HttpRequest(target.value, content, found)

    async def deliver(self, n: OutgoingNotification, target: Target, outbound: Outbound) -> Attempt:
        now_s = outbound.wall_clock()
        return await _posted(outbound, self.render(n, target, outbound, now_s), now_s)

    def render_digest(
        self, d: Digest, target: Target, outbound: Outbound, now_s: float
    ) -> HttpRequest:
        # No ``body`` template: a template renders one notification, and a digest's
        # items must stay parseable as single bodies (docs/integrations.md).
        content = digest_body(d)
        found = digest_headers(d, target, int(now_s), content, USER_AGENT)
        return HttpRequest(target.value, content, found)

    async def deliver_digest(self, d: Digest, target: Target, outbound: Outbound) -> Attempt:
        now_s = outbound.wall_clock()
        return await _posted(outbound, self.render_digest(d, target, outbound, now_s), now_s)


async def _posted(outbound: Outbound, request: HttpRequest, now_s: float) -> Attempt:
    # Webhooks only: Standard Webhooks gives 410 this meaning; a 410 from Slack, Teams
    # or PagerDuty stays a permanent failure of that one delivery (or digest).
    return receiver_gone(await post(outbound, request), now_s)


CHANNEL: Channel[HttpRequest] = WebhookChannel()
if TYPE_CHECKING:  # mypy proves the class delivers digests (dispatch checks at run time)
    _DIGESTS: DigestChannel[HttpRequest] = WebhookChannel()
