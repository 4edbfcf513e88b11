"""PagerDuty Events API v2: a firing notification triggers an incident, its resolved one
resolves it.

The endpoint's value is the Events API URL (``https://events.pagerduty.com/v2/enqueue``,
or the EU service's); its credential is the integration's routing key, which the caller
supplies (``Credential``), stored sealed in the signing-secret column and never shown.
Both events of an episode carry the same ``dedup_key``, which is how PagerDuty pairs a
resolve with its trigger, and how it folds a re-sent trigger (a retry, a takeover) into
the incident it opened.

A group's digest is one event on the ``dedup_key`` of its (endpoint, group key),
``domain.grouping.incident_key`` (``digest_event``), the same for the firing and the
resolved group of that key and across a group closing and reopening: a firing digest
triggers (a later one, or a repeat, adds to the same incident), a resolved digest
resolves it once no member of the key still fires, and before that is a trigger saying
how many resolved and how many still fire.

Answers: 202 accepted; 429 and 5xx are retried (``classify_http``, which honours a
Retry-After); 400 is the event or the key refused, permanent. The answer's body is not
read (the HTTP transport classifies by status alone), so a 400 names the likely causes.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from alerting.channels.base import Channel, Credential, DigestChannel, Outbound
from alerting.channels.http_url import HttpRequest, JsonChannel
from alerting.channels.rendering import clip, headline, highest_severity, listed, rfc3339
from alerting.domain.delivery import Attempt, Outcome, Target
from alerting.domain.delivery_messages import Digest, OutgoingNotification, shown
from alerting.domain.delivery_rate import Rate
from alerting.domain.grouping import incident_key

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
# PagerDuty's limits: a dedup_key's and a summary's length.
DEDUP_KEY_LIMIT = 255
SUMMARY_LIMIT = 1024
SOURCE_LIMIT = 255
# A digest's custom_details list this many members: PagerDuty refuses an event over
# 512 KB, and an incident's details page is read, not searched (the API lists them all).
DIGEST_DETAILED = 100
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
    found["payload"] = {
        "summary": clip(headline(n), SUMMARY_LIMIT),
        "source": clip(shown(n.source), SOURCE_LIMIT) or "unknown",
        "severity": SEVERITIES.get(n.severity, "error"),
        "timestamp": rfc3339(n.event_ts),
        "component": clip(shown(n.name), SOURCE_LIMIT),
        "custom_details": details(n),
    }
    found["client"] = "alerting"
    return found


def details(n: OutgoingNotification) -> dict[str, Any]:
    """A notification's ``custom_details``; a digest lists its members with these too."""
    found: dict[str, Any] = {
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
        found["test"] = True
    return found


def digest_event(d: Digest, routing_key: str, endpoint_id: str) -> dict[str, Any]:
    """The digest's event: ``resolve`` once a resolved digest leaves no member of the
    group firing, else a ``trigger`` (a new incident, or an update of the group's open
    one: PagerDuty adds it to the incident with the same dedup_key)."""
    found: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "resolve" if d.resolved and not d.still_firing else "trigger",
        # 38 characters: far under the 255-character limit
        "dedup_key": incident_key(endpoint_id, d.labels),
    }
    if found["event_action"] == "resolve":
        return found
    members, left_out = listed(d, DIGEST_DETAILED)
    summary = f"{d.title}; {d.still_firing} still firing" if d.resolved else d.title
    sources = {shown(n.source) for n in d.members}
    source = sources.pop() if len(sources) == 1 else f"{len(sources)} sources"
    found["payload"] = {
        "summary": clip(summary, SUMMARY_LIMIT),
        "source": clip(source, SOURCE_LIMIT) or "unknown",
        "severity": SEVERITIES.get(highest_severity(d), "error"),
        "timestamp": rfc3339(max(n.event_ts for n in d.members)),
        "custom_details": {
            "group_id": d.group_id,
            "digest_id": d.digest_id,
            "seq": d.seq,
            "client_id": d.client_id,
            "status": d.kind,
            "labels": dict(d.labels),
            "count": len(d.members),
            "still_firing": d.still_firing,
            "members": [{**details(n), "source": n.source} for n in members],
            "more": left_out,
        },
    }
    found["client"] = "alerting"
    return found


def body(n: OutgoingNotification, routing_key: str) -> bytes:
    return encoded(event(n, routing_key))


def encoded(found: dict[str, Any]) -> bytes:
    return json.dumps(found, separators=(",", ":")).encode()


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

    def digest_document(self, d: Digest, target: Target) -> bytes:
        return encoded(digest_event(d, target.signing_secret or "", target.endpoint_ids[0]))

    async def deliver_digest(self, d: Digest, target: Target, outbound: Outbound) -> Attempt:
        return judged(await super().deliver_digest(d, target, outbound))


CHANNEL: Channel[HttpRequest] = PagerDutyChannel()
if TYPE_CHECKING:  # mypy proves the class delivers digests (dispatch checks at run time)
    _DIGESTS: DigestChannel[HttpRequest] = PagerDutyChannel()
