"""The group flusher's statements (``services/sender/group_statements.py``) must not read
the notifications, deliveries, groups or digests tables: a flush's cost would grow with
every notification, group and digest ever stored, not with the batch. Each plan is
checked with its values and generic, as in ``test_batch_plans.py`` (which says why)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from alerting.services.sender import group_statements as sql
from tests.integration.plan_support import LEASE, PLANS, plan_of, pool

pytestmark = pytest.mark.integration
__all__ = ["pool"]  # the fixture

BATCH = 20  # ALERTING_SENDER_GROUP_BATCH's default
TABLES = ("notifications", "deliveries", "notification_groups", "notification_digests")


@dataclass(frozen=True)
class Batch:
    """One claimed batch of open groups: their ids, endpoints, digests and members."""

    groups: list[str]
    endpoints: list[str]
    digests: list[str]
    members: list[str]
    member_endpoints: list[str]
    member_digests: list[str]


@pytest.fixture
async def batch(pool: asyncpg.Pool[Any]) -> Batch:
    """On top of the 50,000 notifications: 20,000 groups (a quarter resolved, half
    closed), each on its own endpoint with a digest, 40,000 grouped deliveries (a fifth
    waiting) and 50,000 ungrouped ones; then statistics."""
    await pool.execute("INSERT INTO clients (client_id, name) VALUES ('c1', 'T')")
    rule = await pool.fetchval(
        "INSERT INTO rules (rule_id, client_id, severity, source, name)"
        " VALUES (gen_random_uuid(), 'c1', 'HIGH', 's', 'n') RETURNING rule_id"
    )
    await pool.execute(
        "INSERT INTO endpoints (endpoint_id, rule_id, type, value, signing_secret)"
        " SELECT gen_random_uuid(), $1, 'webhook', 'https://h.example/' || i, 's'"
        " FROM generate_series(1, 20000) i",
        rule,
    )
    await pool.execute(
        "INSERT INTO notification_groups (group_id, client_id, rule_id, endpoint_id, kind,"
        " labels, group_key, key_hash, group_wait_s, group_interval_s, repeat_interval_s,"
        " due_at, last_flushed_at, closed_at)"
        " SELECT gen_random_uuid(), 'c1', $1, e.endpoint_id,"
        " CASE WHEN e.i % 4 = 3 THEN 'resolved' ELSE 'firing' END, '{}',"
        " e.k, encode(sha256(convert_to(e.k, 'UTF8')), 'hex'), 30, 300, 3600,"
        " now() + make_interval(secs => e.i), now(), CASE WHEN e.i % 2 = 0 THEN now() END"
        " FROM (SELECT endpoint_id, row_number() OVER (ORDER BY endpoint_id) AS i"
        "     , '{\"source\":\"' || row_number() OVER (ORDER BY endpoint_id) || '\"}' AS k"
        "     FROM endpoints) e",
        rule,
    )
    await pool.execute(
        "INSERT INTO notification_digests (digest_id, group_id, seq, notification_ids,"
        " members, status, attempts)"
        " SELECT gen_random_uuid(), group_id, 1, ARRAY[gen_random_uuid()], 1, 'SENT', 1"
        " FROM notification_groups"
    )
    await pool.execute(
        "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status,"
        " attempts, group_id)"
        " SELECT n.notification_id, g.endpoint_id, 'webhook',"
        " CASE WHEN n.i % 5 = 0 THEN 'GROUPED' ELSE 'SENT' END, 1, g.group_id"
        " FROM (SELECT notification_id, row_number() OVER () AS i FROM notifications"
        "     WHERE kind = 'firing' LIMIT 40000) n"
        " JOIN (SELECT group_id, endpoint_id, row_number() OVER () AS i"
        "     FROM notification_groups) g ON g.i = n.i % 20000 + 1"
    )
    await pool.execute(
        "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status, attempts)"
        " SELECT notification_id, gen_random_uuid(), 'webhook', 'SENT', 1 FROM notifications"
        " LIMIT 50000"
    )
    await pool.execute(
        "ANALYZE endpoints; ANALYZE notification_groups; ANALYZE notification_digests;"
        " ANALYZE deliveries"
    )
    groups = await pool.fetch(
        "SELECT g.group_id::text, g.endpoint_id::text, x.digest_id::text"
        " FROM notification_groups g JOIN notification_digests x USING (group_id)"
        " WHERE g.closed_at IS NULL LIMIT $1",
        BATCH,
    )
    members = await pool.fetch(
        "SELECT notification_id::text, endpoint_id::text FROM deliveries"
        " WHERE group_id = ANY($1::uuid[])",
        [g[0] for g in groups],
    )
    assert len(groups) == BATCH and len(members) > BATCH, "every group has members"
    digest_of = {g[1]: g[2] for g in groups}
    return Batch(
        [g[0] for g in groups], [g[1] for g in groups], [g[2] for g in groups],
        [m[0] for m in members], [m[1] for m in members], [digest_of[m[1]] for m in members],
    )  # fmt: skip


def no_table_read(plan: str) -> None:
    for table in (*TABLES, "endpoints"):
        assert f"Seq Scan on {table}" not in plan, plan


@pytest.mark.parametrize("mode", PLANS)
async def test_a_claim_finds_due_groups_by_index_and_fixes_digests_per_group(
    pool: asyncpg.Pool[Any], batch: Batch, mode: str
) -> None:
    """The claim's statements: due groups by notification_groups_due_idx; a group's
    digests, waiting members and members still firing by their group (the digests'
    (group_id, seq) key, deliveries_group_idx, a probe of notifications_firing_idx per
    member); a resolved group's firing group by the open-key index; the rest by key."""
    g, n = batch.groups, len(batch.groups)
    plan = await plan_of(pool, mode, sql.CLAIM_GROUPS, "me", 30.0, BATCH)
    assert "notification_groups_due_idx" in plan, plan
    no_table_read(plan)

    plan = await plan_of(pool, mode, sql.ENDPOINTS, batch.endpoints, ["c1"] * n)
    assert "endpoints_pkey" in plan, plan
    no_table_read(plan)

    for statement, args in ((sql.UNSENT, (g,)), (sql.RESENDING, (batch.digests, batch.digests))):
        plan = await plan_of(pool, mode, statement, *args)
        assert "notification_digests" in plan and "Index" in plan, plan
        no_table_read(plan)

    plan = await plan_of(pool, mode, sql.NEW_DIGESTS, g, batch.endpoints, 10_000)
    assert "deliveries_group_idx" in plan and "notification_digests_group_seq" in plan, plan
    no_table_read(plan)

    plan = await plan_of(pool, mode, sql.REPEAT_DIGESTS, g, 10_000)
    assert "deliveries_group_idx" in plan and "notifications_firing_idx" in plan, plan
    no_table_read(plan)

    plan = await plan_of(pool, mode, sql.STATE, g)
    for index in ("notification_groups_pkey", "notification_groups_open_key",
                  "deliveries_group_idx", "notifications_firing_idx"):  # fmt: skip
        assert index in plan, plan
    no_table_read(plan)

    plan = await plan_of(pool, mode, sql.MEMBERS, batch.members)
    assert "notifications_pkey" in plan, plan
    no_table_read(plan)

    due = [datetime.now(UTC)] * n
    plan = await plan_of(pool, mode, sql.SETTLE, g, due, [True] * n, [30] * n, [300] * n,
                         [3600] * n)  # fmt: skip
    assert "notification_groups_pkey" in plan, plan
    no_table_read(plan)


@pytest.mark.parametrize("mode", PLANS)
async def test_an_outcome_writes_its_groups_digests_and_members_by_key(
    pool: asyncpg.Pool[Any], batch: Batch, mode: str
) -> None:
    g, n, m = batch.groups, len(batch.groups), len(batch.members)
    plan = await plan_of(pool, mode, sql.HELD, "me", g, [LEASE] * n)
    assert "notification_groups_pkey" in plan, plan
    no_table_read(plan)

    plan = await plan_of(pool, mode, sql.DIGEST_OUTCOMES, batch.digests, ["SENT"] * n,
                         [None] * n, [200] * n, [0] * n)  # fmt: skip
    assert "notification_digests_pkey" in plan, plan
    no_table_read(plan)

    plan = await plan_of(
        pool, mode, sql.MEMBER_OUTCOMES, batch.members, batch.member_endpoints,
        batch.member_digests, ["SENT"] * m, [None] * m, [200] * m, [1.7e9] * m, [25] * m,
        ["SENT"] * m, [None] * m,
    )  # fmt: skip
    assert "deliveries_pkey" in plan and "Insert on delivery_attempts" in plan, plan
    no_table_read(plan)

    plan = await plan_of(pool, mode, sql.FINALISE, batch.members)
    assert "notifications_pkey" in plan and "notifications_firing_idx" in plan, plan
    no_table_read(plan)

    plan = await plan_of(pool, mode, sql.LOCK_MEMBERS, batch.members)
    assert "notifications_pkey" in plan, plan
    no_table_read(plan)

    # the sweep: GROUPED rows only, each probing its deliveries by key
    start = (datetime(1970, 1, 1, tzinfo=UTC), "00000000-0000-0000-0000-000000000000")
    # Each row read is probed by its id: by the primary key, or (as here, where GROUPED
    # rows are few) by notifications_grouped_idx, whichever is smaller; never a table.
    plan = await plan_of(pool, mode, sql.STRANDED, 5000, *start)
    assert "Limit" in plan and "notifications_grouped_idx" in plan, plan
    assert "deliveries_pkey" in plan, plan
    no_table_read(plan)

    plan = await plan_of(pool, mode, sql.DISABLE_GONE, batch.endpoints[:1], ["gone"])
    assert "endpoints_pkey" in plan, plan
    no_table_read(plan)
