"""The Worker's join path (docs/grouping.md): a grouped endpoint is not called, its
notification joins the endpoint's group (a ``Join`` for the store), and the
notification is handed over GROUPED once nothing is left to try again."""

from __future__ import annotations

import dataclasses

from alerting.domain.delivery import Attempt, NotificationEndpoint, Target
from alerting.domain.grouping import GroupingPolicy, group_key
from alerting.services.sender.store import DeliveryRow, Finish, Join
from alerting.services.sender.worker import EXHAUSTED
from tests.unit.sender_support import MemoryStore
from tests.unit.test_sender_worker import (
    LEASE,
    ScriptedChannels,
    claim,
    endpoint,
    id_of,
    make_worker,
    metric,
)

POLICY = GroupingPolicy(("source", "context.host"), 10, 60, 600)
RULE = "00000000-0000-4000-8000-0000000000aa"
GROUPED_HOOK = "https://grouped.example"
PLAIN_HOOK = "https://plain.example"


def grouped(endpoint_id: str, prior: str | None = None) -> NotificationEndpoint:
    return dataclasses.replace(
        endpoint(endpoint_id, GROUPED_HOOK, prior=prior), rule_id=RULE, grouping=POLICY
    )


def expected_join(nid: str, endpoint_id: str) -> Join:
    labels = {"source": "payments", "context.host": ""}  # N has no host: ""
    return Join(
        nid, endpoint_id, "webhook", "acme", RULE, "firing", labels, group_key(labels), 10, 60, 600
    )


async def test_a_grouped_endpoint_joins_its_group_instead_of_being_called() -> None:
    c = claim()
    store = MemoryStore(endpoints={id_of(c): [grouped("e-g")]})
    channels = ScriptedChannels()
    joined = metric("alerting_sender_grouped_total", channel="webhook")
    await make_worker(store, channels).deliver([c], "ready")

    assert channels.calls == []
    assert store.only.deliveries == []  # no call: no deliveries row of a call, no attempt log
    assert store.only.joins == [expected_join(id_of(c), "e-g")]
    assert store.only.finishes == [Finish(id_of(c), LEASE, "GROUPED", 0, None, False)]
    assert metric("alerting_sender_grouped_total", channel="webhook") == joined + 1


async def test_grouped_and_ungrouped_endpoints_of_one_notification_each_go_their_way() -> None:
    c = claim()
    # The same URL, once through a grouped rule and once not: never one target.
    both = [grouped("e-g"), endpoint("e-p", GROUPED_HOOK), endpoint("e-q", PLAIN_HOOK)]
    store = MemoryStore(endpoints={id_of(c): both})
    channels = ScriptedChannels({PLAIN_HOOK: Attempt.permanent("HTTP 400", 400)})
    await make_worker(store, channels).deliver([c], "ready")

    assert sorted(channels.calls) == sorted([(id_of(c), GROUPED_HOOK), (id_of(c), PLAIN_HOOK)])
    assert store.only.deliveries == [
        DeliveryRow(id_of(c), "e-p", "webhook", "SENT", None, 200),
        DeliveryRow(id_of(c), "e-q", "webhook", "FAILED", "HTTP 400", 400),
    ]
    assert store.only.joins == [expected_join(id_of(c), "e-g")]
    # The permanent failure waits for the digest: the flusher makes it FAILED then.
    assert store.only.finishes == [
        Finish(id_of(c), LEASE, "GROUPED", 0, "webhook e-q: HTTP 400", False)
    ]


async def test_a_transient_failure_beside_a_join_retries_without_joining_again() -> None:
    first = claim()
    channels = ScriptedChannels({PLAIN_HOOK: Attempt.transient("HTTP 503", 503)})
    store = MemoryStore(endpoints={id_of(first): [grouped("e-g"), endpoint("e-q", PLAIN_HOOK)]})
    await make_worker(store, channels).deliver([first], "ready")
    assert store.only.joins == [expected_join(id_of(first), "e-g")]
    [retry] = store.only.finishes
    assert (retry.status, retry.error) == ("RETRY", "webhook e-q: HTTP 503")

    # The next claim reads the joined delivery back as GROUPED: it waits for its digest.
    again = dataclasses.replace(
        first, notification=dataclasses.replace(first.notification, attempts=2)
    )
    channels = ScriptedChannels()
    store = MemoryStore(
        endpoints={id_of(again): [grouped("e-g", prior="GROUPED"), endpoint("e-q", PLAIN_HOOK)]}
    )
    await make_worker(store, channels).deliver([again], "poll")
    assert channels.calls == [(id_of(again), PLAIN_HOOK)]
    assert store.only.joins == []
    assert store.only.deliveries == [DeliveryRow(id_of(again), "e-q", "webhook", "SENT", None, 200)]
    assert store.only.finishes == [Finish(id_of(again), LEASE, "GROUPED", 0, None, False)]


async def test_a_claim_beyond_max_attempts_beside_a_waiting_digest_stays_grouped() -> None:
    # Only expired claims get past max_attempts. FAILED now would wake the resolved row
    # while the digest may still reach the grouped endpoint: it is handed over GROUPED,
    # its error kept for the flusher to settle it FAILED.
    worn = claim(attempts=4)
    store = MemoryStore(
        endpoints={id_of(worn): [grouped("e-g", prior="GROUPED"), endpoint("e-q", PLAIN_HOOK)]}
    )
    channels = ScriptedChannels()
    await make_worker(store, channels, max_attempts=3).deliver([worn], "poll")
    assert channels.calls == [] and store.only.joins == []
    [finish] = store.only.finishes
    assert finish.status == "GROUPED"
    assert finish.error == EXHAUSTED.error


async def test_pace_shares_one_budget_per_destination_with_single_messages() -> None:
    # The flusher paces its digests through Worker.pace: a digest to a destination whose
    # tokens single messages used up waits for the next one, and takes one itself.
    worker = make_worker(MemoryStore(), ScriptedChannels(), rate_per_s=2, rate_burst=1)
    target = Target("slack", "https://hooks.slack.test/x", None, ("e1",), None)
    assert worker.pace(target, 0.0) == 0.0  # the burst's one token
    assert worker.pace(target, 0.0) is None  # none left now: nothing reserved
    assert worker.pace(target, 1.0) == 0.5  # the next comes in 1 / rate
    other = Target("slack", "https://hooks.slack.test/y", None, ("e2",), None)
    assert worker.pace(other, 0.0) == 0.0  # another destination has its own bucket
