"""Retention of notification groups: a group closed before the cutoff goes with its
digests, batch by batch; an open group stays however old, a recently closed one too."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from alerting.services.rule_service.retention import Retention
from tests.integration.groups_support import insert_digest, insert_group
from tests.integration.retention_support import *  # noqa: F403
from tests.integration.retention_support import Pool
from tests.integration.sender_support import seed_rule

pytestmark = pytest.mark.integration

NOW = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)
DAYS = 30


def removed(table: str) -> float:
    labels = {"table": table}
    return REGISTRY.get_sample_value("alerting_retention_removed_total", labels) or 0.0


async def test_closed_groups_past_the_retention_go_with_their_digests(pool: Pool) -> None:
    await pool.execute("TRUNCATE notification_groups CASCADE")
    rule_id = uuid.UUID(await seed_rule(pool, "acme"))
    old = NOW - timedelta(days=DAYS + 5)
    old_closed = [
        await insert_group(
            pool, "acme", rule_id, uuid.uuid4(), old, closed_at=old + timedelta(minutes=i)
        )
        for i in range(5)
    ]
    for i, group_id in enumerate(old_closed):
        for seq in range(1, i % 3 + 1):
            await insert_digest(pool, uuid.uuid4(), group_id, seq, [uuid.uuid4()])
    old_open = await insert_group(pool, "acme", rule_id, uuid.uuid4(), old - timedelta(days=400))
    await insert_digest(pool, uuid.uuid4(), old_open, 1, [uuid.uuid4()])
    # Opened long ago, closed within the retention: kept.
    recent = await insert_group(
        pool, "acme", rule_id, uuid.uuid4(), old, closed_at=NOW - timedelta(days=DAYS - 1)
    )
    digests_before = removed("notification_digests")

    done = await Retention(pool, DAYS, batch_size=2, pause_s=0, clock=lambda: NOW).run_pass()

    assert done.notification_groups == 5 and done.notification_digests == 4  # 0+1+2+0+1
    assert removed("notification_digests") - digests_before == 4
    left = await pool.fetch("SELECT group_id FROM notification_groups")
    assert {r["group_id"] for r in left} == {old_open, recent}
    assert await pool.fetchval("SELECT count(*) FROM notification_digests") == 1
    # Nothing left to remove: the next pass removes nothing.
    again = await Retention(pool, DAYS, batch_size=2, pause_s=0, clock=lambda: NOW).run_pass()
    assert again.notification_groups == 0
