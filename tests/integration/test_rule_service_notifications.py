"""Notifications: list with filters, detail with per-endpoint deliveries, re-drive."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, NewClient

pytestmark = pytest.mark.integration


async def insert_notification(rs_pg: Any, client_id: str, status: str, attempts: int = 0) -> str:
    notification_id = uuid.uuid4()
    await rs_pg.execute(
        "INSERT INTO notifications (notification_id, client_id, alert_id, severity, source, name,"
        " context, event_ts, rule_ids, status, attempts, last_error)"
        " VALUES ($1, $2, $3, 'HIGH', 'db', 'disk', $4, now(), ARRAY[$5::uuid], $6, $7, $8)",
        notification_id, client_id, f"a-{notification_id}", json.dumps({"host": "db1"}),
        uuid.uuid4(), status, attempts, "boom" if status == "FAILED" else None,
    )  # fmt: skip
    return str(notification_id)


async def test_list_filter_and_detail_with_deliveries(
    admin: Api, new_client: NewClient, rs_pg: Any
) -> None:
    cid, api = await new_client()
    failed = await insert_notification(rs_pg, cid, "FAILED", attempts=5)
    sent = await insert_notification(rs_pg, cid, "SENT", attempts=1)
    endpoint_id = uuid.uuid4()
    await rs_pg.execute(
        "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status, attempts,"
        " last_error, response_code) VALUES ($1, $2, 'webhook', 'FAILED', 5, 'HTTP 500', 500)",
        uuid.UUID(failed), endpoint_id,
    )  # fmt: skip
    listed = await api.ok("GET", "/api/v1/notifications", 200)
    assert [n["notification_id"] for n in listed["items"]] == [failed, sent]
    only_failed = await admin.ok(
        "GET", "/api/v1/notifications", 200, params={"client_id": cid, "status": "FAILED"}
    )
    assert [n["notification_id"] for n in only_failed["items"]] == [failed]
    page = await api.ok("GET", "/api/v1/notifications", 200, params={"limit": 1})
    rest = await api.ok("GET", "/api/v1/notifications", 200, params={"cursor": page["next_cursor"]})
    assert [n["notification_id"] for n in page["items"] + rest["items"]] == [failed, sent]

    detail = await api.ok("GET", f"/api/v1/notifications/{failed}", 200)
    assert detail["context"] == {"host": "db1"} and detail["status"] == "FAILED"
    assert detail["deliveries"] == [
        {
            "endpoint_id": str(endpoint_id), "endpoint_type": "webhook", "status": "FAILED",
            "attempts": 5, "last_error": "HTTP 500", "response_code": 500,
            "created_at": detail["deliveries"][0]["created_at"],
            "updated_at": detail["deliveries"][0]["updated_at"],
        }
    ]  # fmt: skip
    assert (await api.ok("GET", f"/api/v1/notifications/{sent}", 200))["deliveries"] == []
    bad = await api.get("/api/v1/notifications", params={"status": "LOST"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "status"
    assert (await api.get(f"/api/v1/notifications/{uuid.uuid4()}")).status_code == 404


async def test_retry_redrives_only_a_failed_notification(new_client: NewClient, rs_pg: Any) -> None:
    cid, api = await new_client()
    failed = await insert_notification(rs_pg, cid, "FAILED", attempts=5)
    sent = await insert_notification(rs_pg, cid, "SENT", attempts=1)
    ok_endpoint, bad_endpoint = uuid.uuid4(), uuid.uuid4()
    await rs_pg.execute(
        "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status, attempts)"
        " VALUES ($1, $2, 'webhook', 'SENT', 1), ($1, $3, 'email', 'FAILED', 5)",
        uuid.UUID(failed), ok_endpoint, bad_endpoint,
    )  # fmt: skip
    redriven = await api.ok("POST", f"/api/v1/notifications/{failed}/retry", 202)
    assert redriven["status"] == "RETRY" and redriven["attempts"] == 0
    # In the same statement: the failed endpoint is reopened, the successful one stays SENT.
    statuses = dict(
        await rs_pg.fetch(
            "SELECT endpoint_id, status FROM deliveries WHERE notification_id = $1",
            uuid.UUID(failed),
        )
    )
    assert statuses == {ok_endpoint: "SENT", bad_endpoint: "RETRY"}
    row = await rs_pg.fetchrow(
        "SELECT status, next_attempt_at <= now() AS due FROM notifications"
        " WHERE notification_id = $1",
        uuid.UUID(failed),
    )
    assert row["status"] == "RETRY" and row["due"]
    again = await api.post(f"/api/v1/notifications/{failed}/retry")
    assert again.status_code == 409 and "RETRY" in again.json()["detail"]
    assert (await api.post(f"/api/v1/notifications/{sent}/retry")).status_code == 409
    assert (await api.post(f"/api/v1/notifications/{uuid.uuid4()}/retry")).status_code == 404
