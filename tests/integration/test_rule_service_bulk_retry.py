"""POST /api/v1/notifications/retry: re-drive every FAILED notification of a filter,
in batches of ``limit``, with the list's tenant isolation and one audit row each."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, NewClient
from tests.integration.test_rule_service_notifications import insert_episode, insert_notification

pytestmark = pytest.mark.integration
RETRY = "/api/v1/notifications/retry"


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
    assert await api.ok("POST", RETRY, 200, json={}) == {"retried": 2, "more": False}
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
    assert await api.ok("POST", RETRY, 200) == {"retried": 0, "more": False}


async def test_limit_and_more_walk_the_failed_ones_in_batches(
    new_client: NewClient, rs_pg: Any
) -> None:
    cid, api = await new_client()
    failed = {await insert_notification(rs_pg, cid, "FAILED") for _ in range(5)}
    assert await api.ok("POST", RETRY, 200, json={"limit": 2}) == {"retried": 2, "more": True}
    assert await api.ok("POST", RETRY, 200, json={"limit": 2}) == {"retried": 2, "more": True}
    assert await api.ok("POST", RETRY, 200, json={"limit": 2}) == {"retried": 1, "more": False}
    assert set((await statuses(rs_pg, cid)).values()) == {"RETRY"} and len(failed) == 5
    for bad in ({"limit": 0}, {"limit": 1001}, {"kind": "lost"}, {"status": "SENT"}):
        response = await api.post(RETRY, json=bad)
        assert response.status_code == 422, bad


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
    assert await api.ok("POST", RETRY, 200, json=body) == {"retried": 1, "more": False}
    assert await statuses(rs_pg, cid) == {
        old: "FAILED", new: "RETRY", firing: "SENT", resolved: "FAILED",
    }  # fmt: skip
    body = {"until": since}
    assert await api.ok("POST", RETRY, 200, json=body) == {"retried": 1, "more": False}
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
        "retried": 0, "more": False,
    }  # fmt: skip
    assert await api.ok("POST", RETRY, 200, json={}) == {"retried": 1, "more": False}
    assert (await statuses(rs_pg, cid))[mine] == "RETRY"
    assert (await statuses(rs_pg, other_cid))[theirs] == "FAILED"
    # An admin may name any client.
    assert await admin.ok("POST", RETRY, 200, json={"client_id": other_cid}) == {
        "retried": 1, "more": False,
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
    assert await api.ok("POST", RETRY, 200, json={}) == {"retried": 0, "more": False}
    assert (await statuses(rs_pg, cid))[blocked] == "FAILED"


async def test_the_route_is_in_the_openapi_document(admin: Api) -> None:
    document = await admin.ok("GET", "/openapi.json", 200)
    route = document["paths"][RETRY]["post"]
    assert {"200", "422"} <= set(route["responses"])
    schemas = document["components"]["schemas"]
    assert set(schemas["BulkRetry"]["properties"]) == {
        "client_id", "kind", "alert_id", "since", "until", "limit",
    }  # fmt: skip
    assert set(schemas["BulkRetryResult"]["properties"]) == {"retried", "more"}
    listed = document["paths"]["/api/v1/notifications"]["get"]
    assert {"since", "until"} <= {p["name"] for p in listed["parameters"]}
