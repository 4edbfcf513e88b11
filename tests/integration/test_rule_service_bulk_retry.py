"""POST /api/v1/notifications/retry: re-drive every FAILED notification of a filter,
in batches of ``limit``, with the list's tenant isolation and one audit row each."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from alerting.adapters import postgres
from alerting.config import Settings
from alerting.services.rule_service.cursor import Position
from alerting.services.rule_service.repo import notifications as notifications_repo
from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, NewClient, fresh_database
from tests.integration.test_batch_plans import PLANS, plan_of
from tests.integration.test_rule_service_notifications import insert_episode, insert_notification

pytestmark = pytest.mark.integration
RETRY = "/api/v1/notifications/retry"
DONE = {"more": False, "next": None}  # the end of a sweep


async def statuses(rs_pg: Any, client_id: str) -> dict[str, str]:
    rows = await rs_pg.fetch(
        "SELECT notification_id, status FROM notifications WHERE client_id = $1", client_id
    )
    return {str(r["notification_id"]): r["status"] for r in rows}


async def test_only_failed_ones_of_the_filter_are_redriven_and_audited(
    admin: Api, new_client: NewClient, rs_pg: Any
) -> None:
    cid, api = await new_client()
    failed = [await insert_notification(rs_pg, cid, "FAILED", attempts=5) for _ in range(2)]
    sent = await insert_notification(rs_pg, cid, "SENT", attempts=1)
    pending = await insert_notification(rs_pg, cid, "PENDING")
    endpoint_ok, endpoint_bad = uuid.uuid4(), uuid.uuid4()
    await rs_pg.execute(
        "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status, attempts)"
        " VALUES ($1, $2, 'webhook', 'SENT', 1), ($1, $3, 'webhook', 'FAILED', 5)",
        uuid.UUID(failed[0]), endpoint_ok, endpoint_bad,
    )  # fmt: skip
    assert await api.ok("POST", RETRY, 200, json={}) == {"retried": 2, **DONE}
    after = await statuses(rs_pg, cid)
    assert {after[f] for f in failed} == {"RETRY"}
    assert after[sent] == "SENT" and after[pending] == "PENDING"
    deliveries = dict(
        await rs_pg.fetch(
            "SELECT endpoint_id, status FROM deliveries WHERE notification_id = $1",
            uuid.UUID(failed[0]),
        )
    )
    assert deliveries == {endpoint_ok: "SENT", endpoint_bad: "RETRY"}
    row = await rs_pg.fetchrow(
        "SELECT attempts, next_attempt_at <= now() AS due FROM notifications"
        " WHERE notification_id = $1",
        uuid.UUID(failed[1]),
    )
    assert row["attempts"] == 0 and row["due"]
    audit = await admin.ok(
        "GET", "/api/v1/audit", 200, params={"client_id": cid, "action": "notification.retry"}
    )
    assert sorted(a["resource_id"] for a in audit["items"]) == sorted(failed)
    # Nothing FAILED is left: a second call (no body at all) re-drives nothing.
    assert await api.ok("POST", RETRY, 200) == {"retried": 0, **DONE}


async def test_limit_and_more_walk_the_failed_ones_in_batches(
    new_client: NewClient, rs_pg: Any
) -> None:
    cid, api = await new_client()
    failed = {await insert_notification(rs_pg, cid, "FAILED") for _ in range(5)}
    first = await api.ok("POST", RETRY, 200, json={"limit": 2})
    assert first["retried"] == 2 and first["more"] and first["next"]
    second = await api.ok("POST", RETRY, 200, json={"limit": 2, "after": first["next"]})
    assert second["retried"] == 2 and second["more"] and second["next"]
    last = await api.ok("POST", RETRY, 200, json={"limit": 2, "after": second["next"]})
    assert last == {"retried": 1, **DONE}
    assert set((await statuses(rs_pg, cid)).values()) == {"RETRY"} and len(failed) == 5
    for bad in ({"limit": 0}, {"limit": 1001}, {"kind": "lost"}, {"status": "SENT"},
                {"after": "x" * 513}):  # fmt: skip
        response = await api.post(RETRY, json=bad)
        assert response.status_code == 422, bad


async def test_a_sweep_visits_each_row_once(new_client: NewClient, rs_pg: Any) -> None:
    """A row re-driven by the sweep's first call that fails again meanwhile is behind the
    sweep's position: its later calls move on instead of re-driving it again."""
    cid, api = await new_client()
    ids = [await insert_notification(rs_pg, cid, "FAILED") for _ in range(3)]
    await order_by_creation(rs_pg, ids)
    first = await api.ok("POST", RETRY, 200, json={"limit": 2})
    assert first["retried"] == 2 and first["more"]
    # The sender tries them again at once, and they fail again.
    await rs_pg.execute(
        "UPDATE notifications SET status = 'FAILED' WHERE notification_id = ANY($1::uuid[])",
        ids[:2],
    )
    second = await api.ok("POST", RETRY, 200, json={"limit": 2, "after": first["next"]})
    assert second == {"retried": 1, **DONE}
    after = await statuses(rs_pg, cid)
    assert [after[i] for i in ids] == ["FAILED", "FAILED", "RETRY"]
    # Another list's cursor, or an edited one, is refused.
    listed = await api.ok("GET", "/api/v1/notifications", 200, params={"limit": 1})
    for wrong in (listed["next_cursor"], first["next"][:-2] + "AA"):
        response = await api.post(RETRY, json={"after": wrong})
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "cursor"


async def order_by_creation(rs_pg: Any, ids: list[str]) -> None:
    """Distinct creation times in the order of ``ids`` (one insert's now() is shared)."""
    for i, notification_id in enumerate(ids):
        await rs_pg.execute(
            "UPDATE notifications SET created_at = now() - interval '1 hour' + $2 * interval"
            " '1 second' WHERE notification_id = $1",
            uuid.UUID(notification_id), i,
        )  # fmt: skip


async def test_an_ingest_key_may_not_redrive(admin: Api) -> None:
    ingest = await admin.ok("POST", "/api/v1/api-keys", 201, json={"scope": "ingest"})
    response = await admin.as_token(ingest["token"]).post(RETRY, json={})
    assert response.status_code == 403


async def test_an_admin_sweep_crosses_tenants_but_not_a_deleted_client(
    admin: Api, new_client: NewClient, rs_pg: Any
) -> None:
    one, _ = await new_client()
    two, _ = await new_client()
    gone, _ = await new_client()
    mine = [await insert_notification(rs_pg, c, "FAILED") for c in (one, two, two)]
    hidden = await insert_notification(rs_pg, gone, "FAILED")
    # Deleted: hidden from the moment of the deletion, while the purge is still to run.
    await rs_pg.execute("INSERT INTO deleted_clients (client_id) VALUES ($1)", gone)
    result: dict[str, Any] = {"more": True, "next": None}
    retried = 0
    while result["more"]:  # a sweep, in batches of 2, over every tenant
        result = await admin.ok("POST", RETRY, 200, json={"limit": 2, "after": result["next"]})
        retried += result["retried"]
    assert retried >= 3
    assert (await statuses(rs_pg, one))[mine[0]] == "RETRY"
    assert set((await statuses(rs_pg, two)).values()) == {"RETRY"}
    assert (await statuses(rs_pg, gone))[hidden] == "FAILED"


async def test_concurrent_calls_skip_each_others_rows(
    admin: Api, new_client: NewClient, rs_pg: Any
) -> None:
    """Two operators' calls add up to every row, none re-driven twice; a batch held by
    another transaction is skipped at once, not waited for."""
    cid, api = await new_client()
    ids = [await insert_notification(rs_pg, cid, "FAILED") for _ in range(6)]
    results = await asyncio.gather(
        *(api.ok("POST", RETRY, 200, json={"limit": 3}) for _ in range(2))
    )
    assert sum(r["retried"] for r in results) == 6
    assert set((await statuses(rs_pg, cid)).values()) == {"RETRY"}
    audit = await admin.ok(
        "GET", "/api/v1/audit", 200,
        params={"client_id": cid, "action": "notification.retry", "limit": 50},
    )  # fmt: skip
    assert sorted(a["resource_id"] for a in audit["items"]) == sorted(ids)

    held = [await insert_notification(rs_pg, cid, "FAILED") for _ in range(4)]
    async with rs_pg.transaction():  # another operator's batch, not committed yet
        await rs_pg.execute(
            "SELECT 1 FROM notifications WHERE notification_id = ANY($1::uuid[]) FOR NO KEY UPDATE",
            held[:2],
        )
        result = await asyncio.wait_for(api.ok("POST", RETRY, 200, json={"limit": 10}), 5)
        assert result["retried"] == 2
    now = await statuses(rs_pg, cid)
    assert [now[i] for i in held] == ["FAILED", "FAILED", "RETRY", "RETRY"]


async def test_filters_kind_and_time_window(new_client: NewClient, rs_pg: Any) -> None:
    cid, api = await new_client()
    old = await insert_notification(rs_pg, cid, "FAILED")
    new = await insert_notification(rs_pg, cid, "FAILED")
    firing, resolved = await insert_episode(rs_pg, cid, "SENT", "FAILED")
    assert resolved is not None
    now = datetime.now(UTC)
    await rs_pg.execute(
        "UPDATE notifications SET created_at = $2 WHERE notification_id = $1",
        uuid.UUID(old), now - timedelta(days=2),
    )  # fmt: skip
    since = (now - timedelta(days=1)).isoformat()
    # The list takes the same window.
    listed = await api.ok("GET", "/api/v1/notifications", 200, params={"since": since})
    assert {n["notification_id"] for n in listed["items"]} == {new, firing, resolved}
    until = await api.ok("GET", "/api/v1/notifications", 200, params={"until": since})
    assert [n["notification_id"] for n in until["items"]] == [old]

    body = {"kind": "firing", "since": since}
    assert await api.ok("POST", RETRY, 200, json=body) == {
        "retried": 1,
        "more": False,
        "next": None,
    }
    assert await statuses(rs_pg, cid) == {
        old: "FAILED", new: "RETRY", firing: "SENT", resolved: "FAILED",
    }  # fmt: skip
    body = {"until": since}
    assert await api.ok("POST", RETRY, 200, json=body) == {
        "retried": 1,
        "more": False,
        "next": None,
    }
    assert (await statuses(rs_pg, cid))[old] == "RETRY"


async def test_a_client_key_redrives_only_its_own(
    admin: Api, new_client: NewClient, rs_pg: Any
) -> None:
    cid, api = await new_client()
    other_cid, _ = await new_client()
    mine = await insert_notification(rs_pg, cid, "FAILED")
    theirs = await insert_notification(rs_pg, other_cid, "FAILED")
    # Naming another client yields nothing, as the list does.
    assert await api.ok("POST", RETRY, 200, json={"client_id": other_cid}) == {
        "retried": 0, **DONE,
    }  # fmt: skip
    assert await api.ok("POST", RETRY, 200, json={}) == {"retried": 1, **DONE}
    assert (await statuses(rs_pg, cid))[mine] == "RETRY"
    assert (await statuses(rs_pg, other_cid))[theirs] == "FAILED"
    # An admin may name any client.
    assert await admin.ok("POST", RETRY, 200, json={"client_id": other_cid}) == {
        "retried": 1, **DONE,
    }  # fmt: skip
    assert (await statuses(rs_pg, other_cid))[theirs] == "RETRY"
    response = await admin.post(RETRY, json={"alert_id": "x"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "alert_id"


async def test_a_firing_whose_resolved_went_out_is_left_failed(
    new_client: NewClient, rs_pg: Any
) -> None:
    cid, api = await new_client()
    blocked, resolved = await insert_episode(rs_pg, cid, "FAILED", "SENT")
    assert resolved is not None
    await rs_pg.execute(
        "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status, attempts)"
        " VALUES ($1, $2, 'webhook', 'SENT', 1)",
        uuid.UUID(resolved), uuid.uuid4(),
    )  # fmt: skip
    assert await api.ok("POST", RETRY, 200, json={}) == {"retried": 0, **DONE}
    assert (await statuses(rs_pg, cid))[blocked] == "FAILED"


async def test_the_route_is_in_the_openapi_document(admin: Api) -> None:
    document = await admin.ok("GET", "/openapi.json", 200)
    route = document["paths"][RETRY]["post"]
    assert {"200", "422"} <= set(route["responses"])
    schemas = document["components"]["schemas"]
    assert set(schemas["BulkRetry"]["properties"]) == {
        "client_id", "kind", "alert_id", "since", "until", "limit", "after",
    }  # fmt: skip
    assert set(schemas["BulkRetryResult"]["properties"]) == {"retried", "more", "next"}
    listed = document["paths"]["/api/v1/notifications"]["get"]
    parameters = {p["name"]: p for p in listed["parameters"]}
    assert {"since", "until", "order"} <= set(parameters)
    assert parameters["order"]["schema"]["enum"] == ["asc", "desc"]


@pytest.fixture
async def stored(settings: Settings) -> AsyncIterator[asyncpg.Pool[Any]]:
    """A database holding 50,000 notifications of 100 clients, one in a hundred FAILED
    (the rest SENT, as a long-lived installation's history), with statistics."""
    async with fresh_database(settings) as db:
        pool = await postgres.create_pool(db)
        try:
            await pool.execute(
                "INSERT INTO notifications (notification_id, client_id, alert_id, severity,"
                " source, name, event_ts, rule_ids, status, created_at)"
                " SELECT gen_random_uuid(), 'c' || (i % 100), 'a' || i, 'HIGH', 's', 'n',"
                " now(), '{}', CASE WHEN i % 100 = 7 THEN 'FAILED' ELSE 'SENT' END,"
                " now() - i * interval '1 second' FROM generate_series(1, 50000) i"
            )
            await pool.execute("ANALYZE notifications")
            yield pool
        finally:
            await pool.close()


@pytest.mark.parametrize("mode", PLANS)
@pytest.mark.parametrize("swept", [False, True])
async def test_an_admin_sweep_reads_only_failed_rows(
    stored: asyncpg.Pool[Any], mode: str, swept: bool
) -> None:
    """Without a client filter the batch comes from the partial index of FAILED rows
    (migration 0011), from the sweep's position on, never from a scan of the history;
    also in the generic plan a prepared statement turns to."""
    after = None
    if swept:
        row = await stored.fetchrow(
            "SELECT created_at, notification_id FROM notifications WHERE status = 'FAILED'"
            " ORDER BY created_at, notification_id OFFSET 100 LIMIT 1"
        )
        after = Position(row["created_at"], str(row["notification_id"]))
    sql, args = notifications_repo.redrive_candidates(
        notifications_repo.RedriveFilter(), after, 100
    )
    plan = await plan_of(stored, mode, sql, *args)
    assert "Index Scan using notifications_failed_idx on notifications" in plan, plan
    assert "Seq Scan on notifications" not in plan, plan
    assert "LockRows" in plan, plan
