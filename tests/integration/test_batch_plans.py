"""Per-batch statements must not read the notifications table (or its whole backlog, or
every claim in flight): their cost would grow with every notification stored or waiting.

Each plan is checked twice. asyncpg prepares every statement, and from its sixth run on
a connection Postgres may switch to a *generic* plan, made without the parameters'
values (it guesses ten elements per array): a statement that is fine with its values
can turn into a nested loop over the table there. That is how FINISH cost 100 us per
notification end to end while EXPLAIN, which plans with the values, showed 20 us.
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import pytest

from alerting.services.aggregator.store import UPSERT
from alerting.services.sender.group_statements import FINALISE
from alerting.services.sender.statements import (
    CLAIM_DUE,
    CLAIM_READY,
    ENDPOINTS,
    FINISH,
    HELD,
    JOIN_GROUPS,
    RECORD_DELIVERIES,
    WAKE_RESOLVED,
)
from tests.integration.plan_support import LEASE, PLANS, ids_in, plan_of, pool, stale_pool

pytestmark = pytest.mark.integration
__all__ = ["pool", "stale_pool"]  # the fixtures


@pytest.mark.parametrize("mode", PLANS)
async def test_the_aggregator_looks_up_existing_rows_by_index(
    pool: asyncpg.Pool[Any], mode: str
) -> None:
    """Firings and resolveds of stored and new alerts, some silenced: the latest row of
    each alert by the unique index, the firing a resolved closes and the firing of a
    latest resolved by primary key."""
    n = 500
    args = [
        [f"c{i % 100}" for i in range(n)],
        [f"a{i}" for i in range(n)],  # existing and new ones
        ["HIGH"] * n,
        ["s"] * n,
        ["n"] * n,
        ["{}"] * n,
        [1_700_000_000] * n,
        ["00000000-0000-4000-8000-000000000001"] * n,
        ["resolved" if i % 2 else "firing" for i in range(n)],
        [None if i % 5 else "00000000-0000-4000-8000-000000000002" for i in range(n)],
    ]
    plan = await plan_of(pool, mode, UPSERT, *args)
    assert "Seq Scan on notifications" not in plan, plan
    assert "Index Scan Backward using notifications_episode_unique" in plan, plan
    assert plan.count("Index Scan using notifications_pkey") == 1, plan
    # The firings that resolveds close: probed by key, sorted by id, then share-locked
    # (the sender's lock order, so the two never deadlock).
    locked = plan[plan.index("CTE locked") :]
    assert locked.index("LockRows") < locked.index("Sort") < locked.index("notifications_pkey")
    assert re.search(r"Sort Key: \w+\.notification_id", locked), plan


@pytest.mark.parametrize("mode", PLANS)
async def test_a_ready_claim_probes_its_ids_instead_of_reading_the_backlog(
    pool: asyncpg.Pool[Any], mode: str
) -> None:
    ids = await ids_in(pool, "PENDING")
    plan = await plan_of(pool, mode, CLAIM_READY, "me", 30.0, ids)
    assert "Index Scan using notifications_pkey" in plan, plan
    assert "notifications_due_idx" not in plan, plan
    assert "Seq Scan on notifications" not in plan, plan


@pytest.mark.parametrize("mode", PLANS)
async def test_a_ready_claim_of_resolved_rows_probes_their_firing_rows_by_key(
    pool: asyncpg.Pool[Any], mode: str
) -> None:
    rows = await pool.fetch(
        "SELECT notification_id::text FROM notifications WHERE kind = 'resolved' LIMIT 500"
    )
    plan = await plan_of(pool, mode, CLAIM_READY, "me", 30.0, [r[0] for r in rows])
    assert "Index Scan using notifications_pkey" in plan, plan
    assert "hashed SubPlan" not in plan, plan  # never a hash of every unfinished row
    assert "Seq Scan on notifications" not in plan, plan


@pytest.mark.parametrize("mode", PLANS)
async def test_the_poller_checks_a_resolved_rows_firing_row_per_row(
    pool: asyncpg.Pool[Any], mode: str
) -> None:
    plan = await plan_of(pool, mode, CLAIM_DUE, "me", 30.0, 500)
    assert "SubPlan" in plan and "hashed SubPlan" not in plan, plan


@pytest.mark.parametrize("mode", PLANS)
async def test_an_outcome_probes_its_ids_instead_of_reading_every_claim_in_flight(
    pool: asyncpg.Pool[Any], mode: str
) -> None:
    ids = await ids_in(pool, "SENDING")
    n = len(ids)
    plan = await plan_of(pool, mode, HELD, "me", ids, [LEASE] * n)
    assert "Index Scan using notifications_pkey" in plan, plan
    assert "notifications_lease_idx" not in plan, plan
    assert "Seq Scan on notifications" not in plan, plan
    rows = await pool.fetch(
        "SELECT ctid FROM notifications WHERE notification_id = ANY($1::uuid[])", ids
    )
    args = [[r["ctid"] for r in rows], ["SENT"] * n, [0] * n, [None] * n, [0] * n]
    plan = await plan_of(pool, mode, FINISH, *args)
    assert "Tid Scan on notifications" in plan, plan
    assert "notifications_firing_idx" in plan, plan  # `wakes`: a probe per firing row
    assert "Seq Scan on notifications" not in plan, plan
    assert "hashed SubPlan" not in plan, plan


@pytest.mark.parametrize("mode", PLANS)
async def test_an_outcome_never_reads_the_backlog_under_stale_statistics(
    stale_pool: asyncpg.Pool[Any], mode: str
) -> None:
    """Statistics from before a burst make the due index look empty: FINISH and the
    wake-ups of resolved rows must still probe the firing index, not read every PENDING
    row through the due index; nor may the flusher's FINALISE, which wakes them too."""
    rows = await stale_pool.fetch(
        "SELECT ctid, notification_id::text FROM notifications"
        " WHERE kind = 'firing' AND status = 'SENT' LIMIT 500"
    )
    n = len(rows)
    args = [[r["ctid"] for r in rows], ["SENT"] * n, [0] * n, [None] * n, [0] * n]
    finish = await plan_of(stale_pool, mode, FINISH, *args)
    wake = await plan_of(stale_pool, mode, WAKE_RESOLVED, [r[1] for r in rows])
    finalise = await plan_of(stale_pool, mode, FINALISE, [r[1] for r in rows])
    for plan in (finish, wake, finalise):
        assert "notifications_firing_idx" in plan, plan
        assert "notifications_due_idx" not in plan, plan
        assert "Seq Scan on notifications" not in plan, plan


@pytest.mark.parametrize("mode", PLANS)
async def test_endpoints_are_found_per_notification(pool: asyncpg.Pool[Any], mode: str) -> None:
    ids = await ids_in(pool, "SENDING")
    resolved = await pool.fetch(
        "SELECT notification_id::text FROM notifications WHERE kind = 'resolved' LIMIT 100"
    )
    plan = await plan_of(pool, mode, ENDPOINTS, ids + [r[0] for r in resolved])
    assert "Index Scan using notifications_pkey" in plan, plan
    assert "Seq Scan on notifications" not in plan, plan
    assert "Seq Scan on deliveries" not in plan, plan
    assert "hashed SubPlan" not in plan, plan


@pytest.mark.parametrize("mode", PLANS)
async def test_a_notifications_rule_is_probed_by_key_not_among_its_clients_rules(
    pool: asyncpg.Pool[Any], mode: str
) -> None:
    """A client with many rules: each notification's endpoints and rule are found by
    key, never by reading every rule of its client (rules_client_idx), even where the
    statistics were taken when clients had a few rules each."""
    await pool.execute("ALTER TABLE rules SET (autovacuum_enabled = false)")
    await pool.execute("INSERT INTO clients (client_id, name) VALUES ('many', 'many')")
    rules = (
        "INSERT INTO rules (rule_id, client_id, severity, source, name)"
        " SELECT gen_random_uuid(), 'many', 'HIGH', 's', 'r' || $2::int + i"
        " FROM generate_series(1, $1::int) i"
    )
    await pool.execute(rules, 10, 0)
    await pool.execute("ANALYZE rules")
    await pool.execute(rules, 2000, 10)
    await pool.execute(
        "INSERT INTO endpoints (endpoint_id, rule_id, type, value)"
        " SELECT gen_random_uuid(), rule_id, 'email', name || '@example.com'"
        " FROM rules WHERE client_id = 'many'"
    )
    rows = await pool.fetch(
        "INSERT INTO notifications (notification_id, client_id, alert_id, severity,"
        " source, name, event_ts, rule_ids, status)"
        " SELECT gen_random_uuid(), 'many', 'm' || name, 'HIGH', 's', 'n', now(),"
        " ARRAY[rule_id], 'SENDING' FROM rules WHERE client_id = 'many' LIMIT 500"
        " RETURNING notification_id::text"
    )
    await pool.execute("ANALYZE endpoints")
    plan = await plan_of(pool, mode, ENDPOINTS, [r[0] for r in rows])
    assert "Index Scan using rules_pkey" in plan, plan
    assert "rules_client_idx" not in plan, plan


@pytest.mark.parametrize("mode", PLANS)
async def test_recording_deliveries_disables_gone_endpoints_by_key(
    pool: asyncpg.Pool[Any], mode: str
) -> None:
    """The 410 Gone CTE updates endpoints by primary key, never by scanning them all."""
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
    await pool.execute("ANALYZE endpoints")
    ids = await ids_in(pool, "SENDING", 100)
    endpoints = await pool.fetch("SELECT endpoint_id::text FROM endpoints LIMIT 100")
    n = len(ids)
    reasons = ["receiver answered 410 Gone" if i % 10 == 0 else None for i in range(n)]
    args = [ids, [e[0] for e in endpoints], ["webhook"] * n, ["FAILED"] * n, ["HTTP 410"] * n,
            [410] * n, reasons, *attempt_log(n)]  # fmt: skip
    plan = await plan_of(pool, mode, RECORD_DELIVERIES, *args)
    assert "endpoints_pkey" in plan, plan  # an index or bitmap index scan, by key
    assert "Seq Scan on endpoints" not in plan, plan
    assert "Seq Scan on notifications" not in plan, plan


def attempt_log(n: int) -> list[list[Any]]:
    """RECORD_DELIVERIES' attempt-log arrays: starts, durations, excerpts."""
    return [[1.7e9 + i for i in range(n)], [25] * n, ['{"ok":true}'] * n]


@pytest.mark.parametrize("mode", PLANS)
async def test_recording_deliveries_logs_the_attempts_from_the_batch_alone(
    pool: asyncpg.Pool[Any], mode: str
) -> None:
    """The attempt log is the statement's last step: the upserted rows joined to the
    batch's arrays (both batch-sized), inserted without reading the deliveries or the
    attempts already logged (50,000 of each here)."""
    await pool.execute(
        "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status, attempts)"
        " SELECT notification_id, gen_random_uuid(), 'webhook', 'SENT', 1 FROM notifications"
        " LIMIT 50000"
    )
    await pool.execute(
        "INSERT INTO delivery_attempts (notification_id, endpoint_id, attempt, endpoint_type,"
        " started_at, duration_ms, outcome)"
        " SELECT notification_id, endpoint_id, 1, 'webhook', now(), 5, 'SENT' FROM deliveries"
    )
    await pool.execute("ANALYZE deliveries; ANALYZE delivery_attempts")
    ids = await ids_in(pool, "SENDING", 100)
    n = len(ids)
    endpoints = [f"00000000-0000-4000-8000-{i:012d}" for i in range(n)]
    args = [ids, endpoints, ["webhook"] * n, ["RETRY"] * n, ["HTTP 500"] * n, [500] * n,
            [None] * n, *attempt_log(n)]  # fmt: skip
    plan = await plan_of(pool, mode, RECORD_DELIVERIES, *args)
    assert "Insert on delivery_attempts" in plan, plan
    assert "CTE recorded" in plan and "CTE Scan on recorded" in plan, plan
    for table in ("deliveries", "delivery_attempts", "notifications"):
        assert f"Seq Scan on {table}" not in plan, plan


@pytest.mark.parametrize("mode", PLANS)
async def test_joining_groups_probes_the_open_groups_and_the_batch_rows_by_key(
    pool: asyncpg.Pool[Any], mode: str
) -> None:
    """A grouped batch's joins: the open group of each key through the unique index (the
    upsert's arbiter), each member's notification and deliveries row by primary key,
    however many groups (20,000 here, half closed) and deliveries are stored."""
    await pool.execute("INSERT INTO clients (client_id, name) VALUES ('c1', 'T')")
    await pool.execute(
        "INSERT INTO notification_groups (group_id, client_id, rule_id, endpoint_id, kind,"
        " labels, group_key, key_hash, group_wait_s, group_interval_s, repeat_interval_s,"
        " due_at, closed_at)"
        " SELECT gen_random_uuid(), 'c1', gen_random_uuid(), gen_random_uuid(), 'firing',"
        " '{}', k, encode(sha256(convert_to(k, 'UTF8')), 'hex'), 30, 300, 3600, now(),"
        " CASE WHEN i % 2 = 0 THEN now() END FROM generate_series(1, 20000) i,"
        " LATERAL (SELECT '{\"source\":\"' || i || '\"}' AS k) key"
    )
    await pool.execute(
        "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status, attempts)"
        " SELECT notification_id, gen_random_uuid(), 'webhook', 'SENT', 1 FROM notifications"
        " LIMIT 50000"
    )
    await pool.execute("ANALYZE notification_groups; ANALYZE deliveries")
    ids = await ids_in(pool, "SENDING", 100)
    n = len(ids)
    endpoints = ["00000000-0000-4000-8000-000000000001"] * n
    keys = [f'{{"source":"s{i % 7}"}}' for i in range(n)]
    args = [ids, endpoints, ["webhook"] * n, ["c1"] * n, endpoints, ["firing"] * n, keys, keys,
            [30] * n, [300] * n, [3600] * n]  # fmt: skip
    plan = await plan_of(pool, mode, JOIN_GROUPS, *args)
    assert "Conflict Arbiter Indexes: notification_groups_open_key" in plan, plan
    assert "Conflict Arbiter Indexes: deliveries_pkey" in plan, plan
    assert "Index Scan using notifications_pkey" in plan, plan  # the purge guard, per row
    for table in ("notifications", "deliveries", "notification_groups"):
        assert f"Seq Scan on {table}" not in plan, plan


async def test_service_connections_plan_every_statement_with_its_values(
    pool: asyncpg.Pool[Any],
) -> None:
    """The generic plans above are what a prepared statement would run from its sixth
    execution on; the services' connections keep no statement prepared, so each run is
    planned with its values, while Postgres' foreign-key checks keep their cached plans
    (the session's plan_cache_mode is the default, not force_custom_plan)."""
    [some] = await ids_in(pool, "SENT", 1)
    query = "SELECT status FROM notifications WHERE notification_id = $1::uuid"
    async with pool.acquire() as conn:
        for _ in range(8):
            assert await conn.fetchval(query, some) == "SENT"
        prepared = await conn.fetchval(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", query
        )
        mode = await conn.fetchval("SHOW plan_cache_mode")
    assert prepared == 0
    assert mode == "auto"
