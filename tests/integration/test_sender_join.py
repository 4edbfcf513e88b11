"""The sender process's join path against real Postgres, Kafka and sinks: a grouped
rule's endpoint is not called, its notification joins the endpoint's group and ends
GROUPED, while an ungrouped endpoint of the same notification is delivered as before."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.sender_support import (
    Sender,
    Sinks,
    add_endpoint,
    announce,
    insert_notification,
    reaches,
    seed_rule,
    sender,
    sinks,
)

__all__ = ["sender", "sinks"]  # module fixtures from sender_support
pytestmark = pytest.mark.integration

# An hour's wait: no digest goes out while the test looks (nor once the flusher runs).
POLICY = {"group_by": ["source"], "group_wait_s": 3600}


async def test_a_grouped_endpoint_joins_its_group_and_an_ungrouped_one_is_called(
    sender: Sender, sinks: Sinks
) -> None:
    client_id = f"c-{uuid.uuid4().hex[:10]}"
    grouped_hook, plain_hook = f"grouped-{client_id}", f"plain-{client_id}"
    grouped_rule = await seed_rule(sender.pool, client_id)
    plain_rule = await seed_rule(sender.pool, client_id)
    await sender.pool.execute(
        "UPDATE rules SET grouping = $2 WHERE rule_id = $1::uuid", grouped_rule, POLICY
    )
    await add_endpoint(sender.pool, grouped_rule, "webhook", sinks.hook(grouped_hook))
    await add_endpoint(sender.pool, plain_rule, "webhook", sinks.hook(plain_hook))
    joined = await sender.metric("alerting_sender_grouped_total")
    nid = await insert_notification(sender.pool, client_id, [grouped_rule, plain_rule])
    await announce(sender.settings, nid, client_id)

    row = await reaches(sender.pool, nid, "GROUPED")
    assert row["claimed_by"] is None and row["sent_at"] is None
    assert len(sinks.requests(plain_hook)) == 1 and sinks.requests(grouped_hook) == []
    deliveries = await sender.pool.fetch(
        "SELECT d.status, g.group_key, g.due_at - now() > interval '59 minutes' AS waits"
        " FROM deliveries d LEFT JOIN notification_groups g USING (group_id)"
        " WHERE d.notification_id = $1 ORDER BY d.status",
        uuid.UUID(nid),
    )
    assert [tuple(d) for d in deliveries] == [
        ("GROUPED", '{"source":"payments"}', True),
        ("SENT", None, None),
    ]
    assert await sender.metric("alerting_sender_grouped_total") == joined + 1
