"""The real `alerting sender` process runs the group flusher beside its poller
(``main.py``): a due group is flushed within ``ALERTING_SENDER_GROUP_POLL_S``."""

from __future__ import annotations

import pytest

from tests.integration.flusher_support import seed_group
from tests.integration.sender_support import Sender, Sinks, sender, sinks
from tests.pipeline_support import eventually

pytestmark = pytest.mark.integration
__all__ = ["sender", "sinks"]  # fixtures
SENDER_ENV = {"ALERTING_SENDER_GROUP_POLL_S": "0.1"}


async def test_the_sender_process_flushes_a_due_group(sender: Sender, sinks: Sinks) -> None:
    group = await seed_group(sender.pool, 2, endpoint=("webhook", sinks.hook("grouped")))

    async def flushed() -> bool | None:
        row = await sender.pool.fetchrow(
            "SELECT g.flushes, g.claimed_by, d.status FROM notification_groups g"
            " JOIN notification_digests d USING (group_id) WHERE g.group_id = $1::uuid",
            group.group_id,
        )
        return True if row and row["flushes"] == 1 and row["claimed_by"] is None else None

    await eventually(flushed, 20, "the group flushed")
    statuses = await sender.pool.fetch(
        "SELECT status FROM deliveries WHERE group_id = $1::uuid", group.group_id
    )
    # whatever the webhook channel does with a digest, its members are final now
    assert {r["status"] for r in statuses} <= {"SENT", "FAILED"} and len(statuses) == 2
    assert await sender.metric("alerting_sender_digests_total") == 1
