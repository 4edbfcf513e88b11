"""A PagerDuty digest: one Events API v2 event per digest on the group's dedup_key, the
action table (firing triggers, resolved resolves once nothing fires, else updates), the
highest severity, 100 members in the details, and PagerDuty's answers judged."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from alerting.channels.base import DigestChannel
from alerting.channels.builtin.pagerduty import (
    CHANNEL,
    REFUSED,
    PagerDutyChannel,
    details,
    digest_event,
)
from alerting.domain.delivery import Attempt
from alerting.domain.grouping import incident_key
from tests.unit.channel_support import HOSTILE, N2, D, N, Recorded, digest_of, resolved_of, target

KEY = "R0ut1ngKeyR0ut1ngKeyR0ut1ngKey32"
URL = "https://events.pagerduty.com/v2/enqueue"
DIGESTS = PagerDutyChannel()
EID = "e-1"  # channel_support.target's endpoint
DEDUP_KEY = incident_key(EID, D.labels)


def test_a_firing_digest_triggers_the_groups_incident() -> None:
    assert digest_event(D, KEY, EID) == {
        "routing_key": KEY,
        "event_action": "trigger",
        "dedup_key": DEDUP_KEY,
        "payload": {
            "summary": "[FIRING] 2 alerts: region=eu",
            "source": "2 sources",
            "severity": "critical",  # N2's CRITICAL outranks N's HIGH
            "timestamp": "2023-11-14T22:14:20Z",  # the newest member's event
            "custom_details": {
                "group_id": D.group_id,
                "digest_id": D.digest_id,
                "seq": 2,
                "client_id": "acme",
                "status": "firing",
                "labels": {"region": "eu"},
                "count": 2,
                "still_firing": 0,
                "members": [
                    {**details(N), "source": "payments"},
                    {**details(N2), "source": HOSTILE},
                ],
                "more": 0,
            },
        },
        "client": "alerting",
    }


def resolved(still_firing: int) -> dict[str, Any]:
    return digest_event(resolved_of(D, still_firing=still_firing), KEY, EID)


@pytest.mark.parametrize(
    ("kind", "repeat", "still_firing", "action"),
    [
        ("firing", False, 0, "trigger"),
        ("firing", True, 2, "trigger"),  # a repeat re-announces on the same incident
        ("resolved", False, 0, "resolve"),
        ("resolved", False, 5, "trigger"),  # an update: some of the group still fire
    ],
)
def test_the_action_table(kind: str, repeat: bool, still_firing: int, action: str) -> None:
    digest = dataclasses.replace(D, kind=kind, repeat=repeat, still_firing=still_firing)
    found = digest_event(digest, KEY, EID)
    assert (found["event_action"], found["dedup_key"]) == (action, DEDUP_KEY)


def test_the_resolved_group_resolves_the_incident_its_firing_group_opened() -> None:
    # Two groups (firing, then resolved; or a group reopened after closing): two ids,
    # one (endpoint, group key), so one incident.
    firing = dataclasses.replace(D, group_id="g-firing")
    resolving = resolved_of(D, group_id="g-resolved")
    keys = {digest_event(d, KEY, EID)["dedup_key"] for d in (firing, resolving)}
    assert keys == {DEDUP_KEY}
    other_key = dataclasses.replace(D, labels={"region": "us"})
    assert digest_event(other_key, KEY, EID)["dedup_key"] != DEDUP_KEY
    assert digest_event(D, KEY, "e-2")["dedup_key"] != DEDUP_KEY


def test_a_resolve_that_leaves_nothing_firing_carries_no_payload() -> None:
    assert resolved(0) == {"routing_key": KEY, "event_action": "resolve", "dedup_key": DEDUP_KEY}


def test_a_resolve_that_leaves_some_firing_says_how_many_of_each() -> None:
    update = resolved(5)
    assert update["payload"]["summary"] == "[RESOLVED] 2 alerts: region=eu; 5 still firing"
    custom = update["payload"]["custom_details"]
    assert (custom["status"], custom["count"], custom["still_firing"]) == ("resolved", 2, 5)


def test_one_source_is_named_and_a_repeat_says_still_firing() -> None:
    repeat = digest_event(digest_of(3, repeat=True), KEY, EID)["payload"]
    assert repeat["source"] == "payments" and repeat["severity"] == "error"
    assert repeat["summary"] == "[FIRING] 3 alerts still firing: region=eu"


def test_the_details_list_the_first_100_members_and_count_the_rest() -> None:
    custom = digest_event(digest_of(10_000), KEY, EID)["payload"]["custom_details"]
    assert custom["count"] == 10_000 and custom["more"] == 9_900
    assert [m["alert_id"] for m in custom["members"]] == [f"a-{i}" for i in range(100)]
    assert len(json.dumps(custom).encode()) < 512 * 1024  # PagerDuty's event size limit


async def test_deliver_digest_posts_one_event_with_the_routing_key() -> None:
    via = Recorded()
    found = await DIGESTS.deliver_digest(D, target("pagerduty", URL, KEY), via.outbound())
    assert found == via.answer
    [(url, sent, headers, _)] = via.posts
    assert url == URL and json.loads(sent) == digest_event(D, KEY, EID)
    assert headers["Content-Type"] == "application/json"


async def test_a_400_is_explained_as_for_a_single_event() -> None:
    via = Recorded(answer=Attempt.permanent("HTTP 400", 400))
    found = await DIGESTS.deliver_digest(D, target("pagerduty", URL, KEY), via.outbound())
    assert found == Attempt.permanent(REFUSED, 400)


def test_the_registered_channel_delivers_digests() -> None:
    assert isinstance(CHANNEL, DigestChannel)
