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
            "group_id": None, "digest_id": None,
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


async def insert_episode(
    rs_pg: Any, client_id: str, firing_status: str, resolved_status: str | None, episode: int = 1
) -> tuple[str, str | None]:
    """One episode's rows as the aggregator writes them: the firing notification and,
    when ``resolved_status`` is given, the resolved one naming it."""
    alert_id = f"a-{client_id}"
    firing = await insert_notification(rs_pg, client_id, firing_status)
    await rs_pg.execute(
        "UPDATE notifications SET alert_id = $2, episode = $3 WHERE notification_id = $1",
        uuid.UUID(firing), alert_id, episode,
    )  # fmt: skip
    if resolved_status is None:
        return firing, None
    resolved = await insert_notification(rs_pg, client_id, resolved_status)
    await rs_pg.execute(
        "UPDATE notifications SET alert_id = $2, episode = $3, kind = 'resolved',"
        " firing_id = $4 WHERE notification_id = $1",
        uuid.UUID(resolved), alert_id, episode, uuid.UUID(firing),
    )  # fmt: skip
    return firing, resolved


def ids(page: dict[str, Any]) -> list[str]:
    return [n["notification_id"] for n in page["items"]]


async def test_kind_alert_id_and_suppressed_filters_and_the_episode_view(
    new_client: NewClient, rs_pg: Any
) -> None:
    cid, api = await new_client()
    first, first_resolved = await insert_episode(rs_pg, cid, "SENT", "SENT")
    second, _ = await insert_episode(rs_pg, cid, "SUPPRESSED", None, episode=2)
    silence = uuid.uuid4()
    await rs_pg.execute(
        "UPDATE notifications SET silence_id = $2 WHERE notification_id = $1",
        uuid.UUID(second), silence,
    )  # fmt: skip
    other_alert = await insert_notification(rs_pg, cid, "SENT")

    listed = "/api/v1/notifications"
    assert ids(await api.ok("GET", listed, 200, params={"kind": "resolved"})) == [first_resolved]
    assert ids(await api.ok("GET", listed, 200, params={"kind": "firing"})) == [
        first, second, other_alert,
    ]  # fmt: skip
    by_alert = await api.ok("GET", listed, 200, params={"alert_id": f"a-{cid}"})
    assert ids(by_alert) == [first, first_resolved, second]
    assert [(n["kind"], n["episode"]) for n in by_alert["items"]] == [
        ("firing", 1), ("resolved", 1), ("firing", 2),
    ]  # fmt: skip
    assert by_alert["items"][1]["firing_id"] == first and by_alert["items"][0]["firing_id"] is None
    suppressed = await api.ok("GET", listed, 200, params={"status": "SUPPRESSED"})
    assert ids(suppressed) == [second] and suppressed["items"][0]["silence_id"] == str(silence)
    both = {"alert_id": f"a-{cid}", "kind": "resolved", "status": "SENT"}
    assert ids(await api.ok("GET", listed, 200, params=both)) == [first_resolved]
    for bad in ({"kind": "cleared"}, {"alert_id": "x" * 129}, {"alert_id": ""}):
        response = await api.get(listed, params=bad)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] in bad

    for one in (first, first_resolved):
        detail = await api.ok("GET", f"{listed}/{one}", 200)
        rows = detail["episode_rows"]
        assert [(r["notification_id"], r["kind"], r["status"]) for r in rows] == [
            (first, "firing", "SENT"), (first_resolved, "resolved", "SENT"),
        ]  # fmt: skip
        assert all(r["created_at"] and "sent_at" in r for r in rows)
    alone = await api.ok("GET", f"{listed}/{second}", 200)
    assert [(r["notification_id"], r["status"]) for r in alone["episode_rows"]] == [
        (second, "SUPPRESSED")
    ]


async def test_a_firing_whose_resolved_went_out_is_not_redriven(
    new_client: NewClient, rs_pg: Any
) -> None:
    cid, api = await new_client()
    blocked, blocked_resolved = await insert_episode(rs_pg, cid, "FAILED", "SENT")
    await rs_pg.execute(
        "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status)"
        " VALUES ($1, $2, 'webhook', 'SENT')",
        uuid.UUID(blocked_resolved), uuid.uuid4(),
    )  # fmt: skip
    response = await api.post(f"/api/v1/notifications/{blocked}/retry")
    assert response.status_code == 409
    assert (
        "resolved notification of this episode is already delivered to an endpoint"
        in (response.json()["detail"])
    )
    status = await rs_pg.fetchval(
        "SELECT status FROM notifications WHERE notification_id = $1", uuid.UUID(blocked)
    )
    assert status == "FAILED"
    in_flight, _ = await insert_episode(rs_pg, f"{cid}", "FAILED", "SENDING", episode=2)
    response = await api.post(f"/api/v1/notifications/{in_flight}/retry")
    assert response.status_code == 409 and "being delivered (SENDING)" in response.json()["detail"]
    # joined to a group: its digest will deliver it, as good as SENDING
    grouped, _ = await insert_episode(rs_pg, f"{cid}", "FAILED", "GROUPED", episode=3)
    response = await api.post(f"/api/v1/notifications/{grouped}/retry")
    assert response.status_code == 409 and "being delivered (GROUPED)" in response.json()["detail"]
    # Its resolved one still waiting, failed itself, or SENT to nobody (the firing one
    # reached no endpoint): the re-drive goes ahead; nobody heard of the recovery.
    for resolved_status in ("PENDING", "FAILED", "SENT"):
        other_cid, other_api = await new_client()
        firing, _ = await insert_episode(rs_pg, other_cid, "FAILED", resolved_status)
        redriven = await other_api.ok("POST", f"/api/v1/notifications/{firing}/retry", 202)
        assert redriven["status"] == "RETRY" and redriven["kind"] == "firing"


async def test_another_tenants_episode_stays_invisible(new_client: NewClient, rs_pg: Any) -> None:
    cid, api = await new_client()
    _, other_api = await new_client()
    firing, resolved = await insert_episode(rs_pg, cid, "FAILED", "SENT")
    for one in (firing, resolved):
        assert (await other_api.get(f"/api/v1/notifications/{one}")).status_code == 404
    # Even the 409 of a blocked re-drive would tell it exists: another tenant gets 404.
    assert (await other_api.post(f"/api/v1/notifications/{firing}/retry")).status_code == 404
    mine = {"alert_id": f"a-{cid}"}
    assert ids(await other_api.ok("GET", "/api/v1/notifications", 200, params=mine)) == []
    theirs = {"alert_id": f"a-{cid}", "client_id": cid}
    assert ids(await other_api.ok("GET", "/api/v1/notifications", 200, params=theirs)) == []
    assert ids(await api.ok("GET", "/api/v1/notifications", 200, params=mine)) == [
        firing, resolved,
    ]  # fmt: skip


async def test_an_admin_filtering_by_alert_id_names_the_client(
    admin: Api, new_client: NewClient, rs_pg: Any
) -> None:
    """Alone, an alert id would be a scan of the whole table (the episode index starts
    with client_id): an admin gives both, a client key is its own client already."""
    cid, api = await new_client()
    firing, _ = await insert_episode(rs_pg, cid, "SENT", None)
    listed, by_alert = "/api/v1/notifications", {"alert_id": f"a-{cid}"}
    refused = await admin.get(listed, params=by_alert)
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["field"] == "alert_id" and "also give client_id" in error["message"]
    assert ids(await admin.ok("GET", listed, 200, params={**by_alert, "client_id": cid})) == [
        firing
    ]
    assert ids(await api.ok("GET", listed, 200, params=by_alert)) == [firing]


async def test_order_desc_lists_newest_first_and_pages_both_ways(
    new_client: NewClient, rs_pg: Any
) -> None:
    """order=desc: the newest first (what an operator at 3 a.m. wants on page one), with
    cursor paging as exact as asc's; a cursor works only with the order that issued it."""
    cid, api = await new_client()
    ids = [await insert_notification(rs_pg, cid, "SENT") for _ in range(5)]
    # Two share a creation time: the id breaks the tie, the same way in both orders.
    for i, notification_id in enumerate(ids):
        await rs_pg.execute(
            "UPDATE notifications SET created_at = '2030-01-01T00:00:00Z'::timestamptz"
            " + $2 * interval '1 second' WHERE notification_id = $1",
            uuid.UUID(notification_id), min(i, 3),
        )  # fmt: skip
    oldest_first = ids[:3] + sorted(ids[3:])
    listed = "/api/v1/notifications"

    async def walk(order: str | None) -> tuple[list[str], list[str]]:
        params: dict[str, Any] = {"limit": 2} if order is None else {"limit": 2, "order": order}
        seen: list[str] = []
        cursors: list[str] = []
        while True:
            page = await api.ok("GET", listed, 200, params=params)
            seen += [n["notification_id"] for n in page["items"]]
            if page["next_cursor"] is None:
                return seen, cursors
            cursors.append(page["next_cursor"])
            params["cursor"] = page["next_cursor"]

    asc, asc_cursors = await walk(None)
    assert asc == oldest_first
    assert (await walk("asc"))[0] == oldest_first
    desc, desc_cursors = await walk("desc")
    assert desc == oldest_first[::-1]
    first = await api.ok("GET", listed, 200, params={"order": "desc", "limit": 1})
    assert first["items"][0]["notification_id"] == oldest_first[-1]
    # A cursor of one order passed with the other: a 422 naming the order, never a page
    # that repeats or skips rows.
    for cursor, order in ((desc_cursors[0], "asc"), (asc_cursors[0], "desc")):
        response = await api.get(listed, params={"cursor": cursor, "order": order})
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "cursor"
        assert "order=" in response.json()["errors"][0]["message"]
    assert (await api.get(listed, params={"cursor": desc_cursors[0]})).status_code == 422
    assert (await api.get(listed, params={"order": "newest"})).status_code == 422
