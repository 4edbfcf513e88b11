"""Deleting a client (issue 13, item 4): its notifications vanish from the API and the
counts at once, are purged in small batches, a re-created client of the same id starts
empty, and in-flight work of the deleted client ends cleanly in the aggregator and the
sender."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any, TypeAlias

import asyncpg
import pytest

from alerting import codec
from alerting.adapters.kafka import OutMessage
from alerting.config import Settings
from alerting.domain.model import Alert, AlertMatch, Severity
from alerting.services.aggregator import store as aggregator
from alerting.services.metrics.counts import read_counts
from alerting.services.rule_service.purger import REQUEST_BATCHES, ClientPurger
from alerting.services.rule_service.repo import clients as clients_repo
from alerting.services.rule_service.repo.purge import PURGE_BATCH
from alerting.services.sender.repo import PostgresSenderStore
from alerting.services.sender.store import DeliveryRow, Finish
from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, fresh_database, start_service
from tests.integration.sender_support import add_endpoint, insert_notification, seed_rule
from tests.kafka_helpers import read_topic
from tests.pipeline_support import create_topics, eventually, isolated_env, produce
from tests.processes import ServiceProcesses

pytestmark = pytest.mark.integration

Pool: TypeAlias = "asyncpg.Pool[Any]"


def new_id() -> str:
    return f"del-{uuid.uuid4().hex[:10]}"


async def seed_notifications(pool: Pool, client_id: str, n: int, rule_id: str) -> list[str]:
    """``n`` FAILED notifications of the client (alerts a0..), each with a FAILED delivery."""
    rows = await pool.fetch(
        "INSERT INTO notifications (notification_id, client_id, alert_id, severity, source,"
        " name, context, event_ts, rule_ids, status, attempts, last_error)"
        " SELECT gen_random_uuid(), $1, 'a' || i, 'HIGH', 'db', 'disk', '{\"tenant\": \"old\"}',"
        " now(), ARRAY[$2::uuid], 'FAILED', 6, 'HTTP 500'"
        " FROM generate_series(0, $3 - 1) AS i RETURNING notification_id::text",
        client_id, uuid.UUID(rule_id), n,
    )  # fmt: skip
    ids = [r[0] for r in rows]
    await pool.execute(
        "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status, attempts)"
        " SELECT id, gen_random_uuid(), 'webhook', 'FAILED', 6 FROM unnest($1::uuid[]) AS id",
        ids,
    )
    return ids


async def left_of(pool: Pool, client_id: str, ids: list[str]) -> tuple[int, int]:
    """(notifications of the client, deliveries of ``ids``) still stored."""
    row = await pool.fetchrow(
        "SELECT (SELECT count(*) FROM notifications WHERE client_id = $1),"
        " (SELECT count(*) FROM deliveries WHERE notification_id = ANY($2::uuid[]))",
        client_id, ids,
    )  # fmt: skip
    assert row is not None
    return row[0], row[1]


def match(client_id: str, alert_id: str, rule_id: str) -> AlertMatch:
    alert = Alert(alert_id, Severity.HIGH, "db", "disk", 1_700_000_000, {})
    return AlertMatch(alert, client_id, (rule_id,))


async def delete_client(pool: Pool, client_id: str) -> None:
    """The DELETE request's transaction alone, without its purge."""
    async with pool.acquire() as conn:
        assert await clients_repo.delete(conn, client_id)


async def test_a_re_created_client_starts_empty_and_is_notified_again(
    admin: Api, rule_pool: Pool
) -> None:
    cid = new_id()
    await admin.ok("POST", "/api/v1/clients", 201, json={"client_id": cid, "name": "Old"})
    rule = {"client_id": cid, "severity": "HIGH", "source": "db", "name": "disk"}
    old_rule = (await admin.ok("POST", "/api/v1/rules", 201, json=rule))["rule_id"]
    ids = await seed_notifications(rule_pool, cid, 3, old_rule)

    await admin.ok("DELETE", f"/api/v1/clients/{cid}", 204)
    await admin.ok("POST", "/api/v1/clients", 201, json={"client_id": cid, "name": "New"})
    key = await admin.ok("POST", f"/api/v1/clients/{cid}/api-keys", 201, json={})
    tenant = admin.as_token(key["token"])

    listed = await admin.ok("GET", "/api/v1/notifications", 200, params={"client_id": cid})
    assert listed["items"] == []
    assert (await tenant.ok("GET", "/api/v1/notifications", 200))["items"] == []
    for nid in ids:
        for caller in (admin, tenant):
            assert (await caller.get(f"/api/v1/notifications/{nid}")).status_code == 404
            assert (await caller.post(f"/api/v1/notifications/{nid}/retry")).status_code == 404
    assert await left_of(rule_pool, cid, ids) == (0, 0)

    # The old tenant's dedupe rows are gone: alert a0 notifies the new tenant again.
    new_rule = (await tenant.ok("POST", "/api/v1/rules", 201, json=rule))["rule_id"]
    [pending] = (await aggregator.upsert(rule_pool, [match(cid, "a0", new_rule)])).pending
    assert pending.created and pending.client_id == cid


async def test_a_large_tenant_vanishes_at_once_and_is_purged_in_batches(
    rs_settings: Settings, rule_pool: Pool
) -> None:
    batch = 5
    small = await start_service(
        dataclasses.replace(rs_settings, client_purge_batch=batch), rule_pool
    )
    try:
        admin = Api(small.base_url, rs_settings.require_admin_token())
        cid = new_id()
        await admin.ok("POST", "/api/v1/clients", 201, json={"client_id": cid, "name": "Big"})
        rule = await seed_rule(rule_pool, cid)
        n = 200
        ids = await seed_notifications(rule_pool, cid, n, rule)
        active = [await insert_notification(rule_pool, cid, [rule]) for _ in range(7)]
        await rule_pool.execute(
            "UPDATE notifications SET status = 'RETRY' WHERE notification_id = $1::uuid",
            active[0],
        )
        await rule_pool.execute(  # waiting for its group's digest: a flusher delivers it
            "UPDATE notifications SET status = 'GROUPED' WHERE notification_id = $1::uuid",
            active[1],
        )
        before = await read_counts(rule_pool)

        await admin.ok("DELETE", f"/api/v1/clients/{cid}", 204)
        # The request removed a bounded number of batches, each its own transaction: the
        # rows a sender could still claim first (a batch of 5, one of 2), then 8 of 5.
        removed = 5 + 2 + (REQUEST_BATCHES - 2) * batch
        history_left = n - (removed - 7)  # the FAILED ones, each with its delivery
        assert await left_of(rule_pool, cid, ids) == (history_left, history_left)
        assert (
            await rule_pool.fetchval(
                "SELECT count(*) FROM notifications WHERE client_id = $1"
                " AND status IN ('PENDING', 'SENDING', 'RETRY', 'GROUPED')",
                cid,
            )
            == 0
        )
        # ... and the rest is invisible already: to the API and to the pipeline's counts.
        listed = await admin.ok("GET", "/api/v1/notifications", 200, params={"client_id": cid})
        assert listed["items"] == []
        assert (await admin.get(f"/api/v1/notifications/{ids[-1]}")).status_code == 404
        after = await read_counts(rule_pool)
        assert after["notifications"]["FAILED"] == before["notifications"]["FAILED"] - n
        assert after["deliveries"]["FAILED"] == before["deliveries"]["FAILED"] - n
        # Until the purge is done, the id cannot be taken again.
        again = await admin.post("/api/v1/clients", json={"client_id": cid, "name": "New"})
        assert again.status_code == 409 and again.headers["Retry-After"] == "5", again.text
        assert "being removed" in again.json()["detail"]

        # The rule-service's background pass finishes it.
        assert await ClientPurger(rule_pool, batch).purge_pending() >= 1
        assert await left_of(rule_pool, cid, ids) == (0, 0)
        await admin.ok("POST", "/api/v1/clients", 201, json={"client_id": cid, "name": "New"})
        listed = await admin.ok("GET", "/api/v1/notifications", 200, params={"client_id": cid})
        assert listed["items"] == []
    finally:
        await small.close()


async def test_the_purge_leaves_a_row_a_sender_is_writing_to_a_later_pass(
    rule_pool: Pool, rs_pg: asyncpg.Connection[Any]
) -> None:
    cid = new_id()
    rule = await seed_rule(rule_pool, cid)
    ids = await seed_notifications(rule_pool, cid, 3, rule)
    await delete_client(rule_pool, cid)
    purger = ClientPurger(rule_pool, 10)
    async with rs_pg.transaction():  # a sender's outcome write holds this lock
        await rs_pg.execute(
            "SELECT 1 FROM notifications WHERE notification_id = $1::uuid FOR KEY SHARE", ids[0]
        )
        assert await purger.purge(cid) is False  # returns instead of waiting for the row
        assert await left_of(rule_pool, cid, ids) == (1, 1)
    assert await purger.purge(cid) is True
    assert await left_of(rule_pool, cid, ids) == (0, 0)
    assert (
        await rule_pool.fetchval("SELECT 1 FROM deleted_clients WHERE client_id = $1", cid) is None
    )


async def test_matches_of_a_deleted_client_store_nothing_even_once_it_is_re_created(
    rule_pool: Pool,
) -> None:
    cid = new_id()
    old_rule = await seed_rule(rule_pool, cid)
    await delete_client(rule_pool, cid)
    # Matched before the deletion reached the evaluator, consumed after it.
    assert (await aggregator.upsert(rule_pool, [match(cid, "a1", old_rule)])).pending == []
    assert await ClientPurger(rule_pool, 10).purge(cid) is True

    new_rule = await seed_rule(rule_pool, cid)  # the id is taken again
    assert (await aggregator.upsert(rule_pool, [match(cid, "a1", old_rule)])).pending == []
    [pending] = (await aggregator.upsert(rule_pool, [match(cid, "a1", new_rule)])).pending
    assert pending.created
    stored = await rule_pool.fetch(
        "SELECT alert_id, rule_ids::text[] AS rule_ids FROM notifications WHERE client_id = $1",
        cid,
    )
    assert [(r["alert_id"], r["rule_ids"]) for r in stored] == [("a1", [new_rule])]


async def lock_waiters(pool: Pool, event: str | None = None) -> int:
    """Sessions of this database waiting on a lock (of kind ``event``, e.g. 'advisory')."""
    count: int = await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        " AND ($1::text IS NULL OR wait_event = $1)",
        event,
    )
    return count


@contextlib.asynccontextmanager
async def batch_in_flight(
    settings: Settings, pool: Pool, client_id: str
) -> AsyncIterator[asyncpg.Connection[Any]]:
    """An aggregator batch that stored a match of the client and has not committed (it
    holds the shared deletion lock); closed, so rolled back unless committed, at the end."""
    rule = await seed_rule(pool, client_id)
    batch = await asyncpg.connect(settings.postgres_dsn)
    try:
        await batch.execute(aggregator.BEGIN_LOCKED)
        await aggregator.insert_batch(batch, [match(client_id, "a1", rule)])
        yield batch
    finally:
        await batch.close()


async def test_a_deletion_waits_for_an_aggregator_batch_that_reached_the_client_first(
    rs_settings: Settings, rule_pool: Pool
) -> None:
    cid = new_id()
    async with batch_in_flight(rs_settings, rule_pool, cid) as batch:
        deleting = asyncio.create_task(delete_client(rule_pool, cid))
        await eventually(lambda: lock_waiters(rule_pool, "advisory"), 30, "the deletion waiting")
        assert not deleting.done()
        await batch.execute("COMMIT")
        await asyncio.wait_for(deleting, 30)
    # The batch's row committed before the deletion, so the purge finds it.
    assert await left_of(rule_pool, cid, []) == (1, 0)
    assert await ClientPurger(rule_pool, 10).purge(cid) is True
    assert await left_of(rule_pool, cid, []) == (0, 0)


async def test_deleting_a_client_that_does_not_exist_never_waits_for_the_aggregator(
    rs_settings: Settings, rule_pool: Pool
) -> None:
    """The deletion lock is shared by every tenant's aggregator batches: a 404 must not
    queue behind them (nor hold them back)."""
    async with batch_in_flight(rs_settings, rule_pool, new_id()) as batch:
        async with rule_pool.acquire() as conn:
            assert await asyncio.wait_for(clients_repo.delete(conn, new_id()), 30) is False
        await batch.execute("COMMIT")


async def claimed(pool: Pool, client_id: str) -> tuple[str, str, Finish]:
    """A notification of ``client_id`` claimed by sender "me": (id, endpoint id, finish)."""
    rule = await seed_rule(pool, client_id)
    endpoint = await add_endpoint(pool, rule, "email", "ops@acme.example")
    nid = await insert_notification(pool, client_id, [rule])
    [claim] = await PostgresSenderStore(pool).claim_ready([nid], "me", 30)
    return nid, endpoint, Finish(nid, claim.lease, "SENT", 0, None, False)


async def test_an_outcome_for_a_notification_purged_meanwhile_is_settled_without_rows(
    rule_pool: Pool,
) -> None:
    cid = new_id()
    nid, endpoint, finish = await claimed(rule_pool, cid)
    await delete_client(rule_pool, cid)
    assert await ClientPurger(rule_pool, 10).purge(cid) is True

    row = DeliveryRow(nid, endpoint, "email", "SENT", None, 250)
    store = PostgresSenderStore(rule_pool)
    assert await store.record_outcomes("me", [row], [finish]) == {nid}  # settled, not lost
    assert await left_of(rule_pool, cid, [nid]) == (0, 0)


async def test_an_outcome_racing_the_purge_of_its_notification_is_settled_without_rows(
    rs_settings: Settings, rule_pool: Pool
) -> None:
    cid = new_id()
    nid, endpoint, finish = await claimed(rule_pool, cid)
    await delete_client(rule_pool, cid)
    purge = await asyncpg.connect(rs_settings.postgres_dsn)
    try:
        tx = purge.transaction()
        await tx.start()
        assert (
            await purge.execute(PURGE_BATCH.format(only=""), cid, 10) == "DELETE 1"
        )  # not committed yet
        row = DeliveryRow(nid, endpoint, "email", "SENT", None, 250)
        store = PostgresSenderStore(rule_pool)
        writing = asyncio.create_task(store.record_outcomes("me", [row], [finish]))
        await eventually(lambda: lock_waiters(rule_pool), 30, "the outcome write waiting")
        await tx.commit()
        assert await asyncio.wait_for(writing, 30) == {nid}  # no foreign-key violation
    finally:
        await purge.close()
    assert await left_of(rule_pool, cid, [nid]) == (0, 0)


async def test_the_aggregator_process_skips_a_deleted_clients_matches_and_moves_on(
    base_env: dict[str, str],
    unique: str,
    own_database: str,
    service_processes: ServiceProcesses,
) -> None:
    env = isolated_env(base_env, unique, ALERTING_POSTGRES_DSN=own_database)
    settings = await create_topics(env)
    pool = await asyncpg.create_pool(own_database, min_size=1, max_size=2)
    try:
        cid = new_id()
        old_rule = await seed_rule(pool, cid)
        await delete_client(pool, cid)
        assert await ClientPurger(pool, 10).purge(cid) is True
        new_rule = await seed_rule(pool, cid)  # re-created, before the old matches drain
        topic = settings.topics.alerts_matched
        stale = [match(cid, f"a{i}", old_rule) for i in range(5)]
        fresh = match(cid, "a0", new_rule)
        await produce(
            settings,
            [OutMessage(topic, cid.encode(), codec.encode_match(m)) for m in [*stale, fresh]],
        )
        aggregator = service_processes.new("aggregator", env)
        aggregator.start()
        out = await read_topic(settings.kafka, settings.topics.notifications_ready, 1, 30)
        [ready] = [codec.decode_notification_ready(m.value) for m in out]
        stored = await pool.fetch(
            "SELECT notification_id::text, alert_id, rule_ids::text[] AS rule_ids"
            " FROM notifications WHERE client_id = $1",
            cid,
        )
        assert [(r["alert_id"], r["rule_ids"]) for r in stored] == [("a0", [new_rule])]
        assert ready.notification_id == stored[0]["notification_id"]
        assert aggregator.terminate() == 0, aggregator.logs()
    finally:
        await pool.close()


async def test_the_aggregators_rule_check_probes_rule_ids_not_the_clients_rules(
    rule_pool: Pool,
) -> None:
    cid = new_id()
    rule = await seed_rule(rule_pool, cid)
    await rule_pool.execute(  # a large tenant: scanning its rules per match would be slow
        "INSERT INTO rules (rule_id, client_id, severity, source, name)"
        " SELECT gen_random_uuid(), $1, 'LOW', 's', 'n' || i FROM generate_series(1, 3000) i",
        cid,
    )
    await rule_pool.execute("ANALYZE rules")
    n = 200
    args = [[cid] * n, [f"p{i}" for i in range(n)], ["HIGH"] * n, ["s"] * n, ["n"] * n]
    args += [["{}"] * n, [1_700_000_000] * n, [rule] * n, ["firing"] * n, [None] * n]
    async with rule_pool.acquire() as conn, conn.transaction():
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + aggregator.UPSERT, *args))
    assert "rules_pkey" in plan, plan
    assert "rules_client_idx" not in plan and "Seq Scan on rules" not in plan, plan


async def test_the_rule_service_process_finishes_a_large_purge_in_the_background(
    base_env: dict[str, str], settings: Settings, service_processes: ServiceProcesses
) -> None:
    async with fresh_database(settings) as own:
        env = {**base_env, "ALERTING_POSTGRES_DSN": own.postgres_dsn}
        env["ALERTING_CLIENT_PURGE_BATCH"] = "3"  # the request removes 30 of 100
        process = service_processes.new("rule-service", env)
        await asyncio.to_thread(process.start)
        pool = await asyncpg.create_pool(own.postgres_dsn, min_size=1, max_size=2)
        try:
            cid = new_id()
            ids = await seed_notifications(pool, cid, 100, await seed_rule(pool, cid))
            admin = Api(process.url, settings.require_admin_token())
            await admin.ok("DELETE", f"/api/v1/clients/{cid}", 204)
            assert await left_of(pool, cid, ids) == (70, 70)

            async def purged() -> bool:
                return await left_of(pool, cid, ids) == (0, 0)

            await eventually(purged, 60, "the background purge")
            await admin.ok("POST", "/api/v1/clients", 201, json={"client_id": cid, "name": "N"})
        finally:
            await pool.close()
        assert process.terminate() == 0, process.logs()
        assert "its notifications are purged" in process.logs()
