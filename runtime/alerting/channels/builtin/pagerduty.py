"""PagerDuty Events API v2: a firing notification triggers an incident, its resolved one
resolves it.

The endpoint's value is the Events API URL (``https://events.pagerduty.com/v2/enqueue``,
or the EU service's); its credential is the integration's routing key, which the caller
supplies (``Credential``), stored sealed in the signing-secret column and never shown.
Both events of an episode carry the same ``dedup_key``, which is how PagerDuty pairs a
resolve with its trigger, and how it folds a re-sent trigger (a retry, a takeover) into
the incident it opened.

Answers: 202 accepted; 429 and 5xx are retried (``classify_http``, which honours a
Retry-After); 400 is the event or the key refused, permanent. The answer's body is not
read (the HTTP transport classifies by status alone), so a 400 names the likely causes.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from alerting.channels.base import Channel, Credential, Outbound
from alerting.channels.http_url import HttpRequest, JsonChannel
from alerting.channels.rendering import clip, headline, rfc3339
from alerting.domain.delivery import Attempt, Outcome, Target
from alerting.domain.delivery_messages import OutgoingNotification, shown
from alerting.domain.delivery_rate import Rate

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
# PagerDuty's limits: a dedup_key's and a summary's length.
DEDUP_KEY_LIMIT = 255
SUMMARY_LIMIT = 1024
SOURCE_LIMIT = 255
SEVERITIES = {"CRITICAL": "critical", "HIGH": "error", "MEDIUM": "warning", "LOW": "info"}
ROUTING_KEY = Credential(
    what="a PagerDuty routing key",
    pattern=re.compile(r"[A-Za-z0-9]{32}"),
    shape="the 32 letters or digits of an Events API v2 integration's key",
)
REFUSED = (
    "HTTP 400: PagerDuty refused the event as invalid (a wrong or disabled routing key,"
    " or an integration that is not Events API v2)"
)


def dedup_key(n: OutgoingNotification) -> str:
    """The episode: ``<client_id>/<alert_id>/<episode>``, the same for its trigger and its
    resolve. Over PagerDuty's 255 characters (a long alert id), its SHA-256 instead:
    still one key per episode, and the same on both sides.

    A test send's is ``test/<notification_id>``: its own incident, never folded into (or
    resolving) a real alert's, whatever alert id the sample carries."""
    if n.test:
        return f"test/{n.notification_id}"
    key = f"{n.client_id}/{n.alert_id}/{n.episode}"
    if len(key) <= DEDUP_KEY_LIMIT:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def event(n: OutgoingNotification, routing_key: str) -> dict[str, Any]:
    """The Events API v2 event; a resolve carries no payload (PagerDuty needs none)."""
    found: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "resolve" if n.resolved else "trigger",
        "dedup_key": dedup_key(n),
    }
    if n.resolved:
        return found
    details: dict[str, Any] = {
        "client_id": n.client_id,
        "alert_id": n.alert_id,
        "episode": n.episode,
        "notification_id": n.notification_id,
        "rule_ids": list(n.rule_ids),
        "name": n.name,
        "severity": n.severity,
        "context": dict(n.context),
    }
    if n.test:
        details["test"] = True
    found["payload"] = {
        "summary": clip(headline(n), SUMMARY_LIMIT),
        "source": clip(shown(n.source), SOURCE_LIMIT) or "unknown",
        "severity": SEVERITIES.get(n.severity, "error"),
        "timestamp": rfc3339(n.event_ts),
        "component": clip(shown(n.name), SOURCE_LIMIT),
        "custom_details": details,
    }
    found["client"] = "alerting"
    return found


def body(n: OutgoingNotification, routing_key: str) -> bytes:
    return json.dumps(event(n, routing_key), separators=(",", ":")).encode()


def judged(attempt: Attempt) -> Attempt:
    """The transport's verdict, with what a 400 from PagerDuty means."""
    if attempt.outcome is Outcome.FAILED and attempt.response_code == 400:
        return Attempt.permanent(REFUSED, 400)
    return attempt


class PagerDutyChannel(JsonChannel):
    name = "pagerduty"
    credential = ROUTING_KEY
    # Events API v2: 120 events a minute per routing key (PagerDuty's stated limit; a
    # target here is one routing key), then 429.
    default_rate = Rate(per_s=2.0, burst=5)

    def document(self, n: OutgoingNotification, target: Target) -> bytes:
        # The dispatcher delivers to a credential's channel only with its secret opened.
        return body(n, target.signing_secret or "")

    async def deliver(self, n: OutgoingNotification, target: Target, outbound: Outbound) -> Attempt:
        return judged(await super().deliver(n, target, outbound))


CHANNEL: Channel[HttpRequest] = PagerDutyChannel()
