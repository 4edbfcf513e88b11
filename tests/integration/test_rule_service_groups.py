"""GET /api/v1/groups, /groups/{id} and /groups/{id}/digests/{id} over rows written as
the sender leaves them; GROUPED notifications and the group and digest ids they show."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.groups_support import insert_digest, insert_group, insert_member
from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, NewClient

pytestmark = pytest.mark.integration
GROUPS = "/api/v1/groups"
T0 = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass
class Seeded:
    client_id: str
    api: Api
    rule_id: uuid.UUID
    endpoint_id: uuid.UUID
    closed: uuid.UUID  # oldest, closed
    busy: uuid.UUID  # open: two digests (sent, retrying) and one member waiting
    gone: uuid.UUID  # open, newest, of a deleted endpoint
    sent_digest: uuid.UUID
    retry_digest: uuid.UUID
    members: list[uuid.UUID]  # of busy: 2 in the sent digest, 1 in the retry, 1 waiting


async def seed(new_client: NewClient, rs_pg: Any) -> Seeded:
    cid, api = await new_client("grp")
    rule = await api.ok("POST", "/api/v1/rules", 201, json={
        "client_id": cid, "severity": "HIGH", "source": "db", "name": "*",
        "grouping": {"group_by": ["source"]},
    })  # fmt: skip
    endpoint = await api.ok(
        "POST", f"/api/v1/rules/{rule['rule_id']}/endpoints", 201,
        json={"type": "email", "value": "ops@example.com"},
    )  # fmt: skip
    rule_id, endpoint_id = uuid.UUID(rule["rule_id"]), uuid.UUID(endpoint["endpoint_id"])
    closed = await insert_group(
        rs_pg, cid, rule_id, endpoint_id, T0, closed_at=T0 + timedelta(hours=1)
    )
    busy = await insert_group(rs_pg, cid, rule_id, endpoint_id, T0 + timedelta(hours=2))
    gone = await insert_group(
        rs_pg, cid, rule_id, uuid.uuid4(), T0 + timedelta(hours=3), kind="resolved"
    )
    sent, retry = uuid.uuid4(), uuid.uuid4()
    members = [
        await insert_member(rs_pg, cid, busy, endpoint_id, digest_id=sent),
        await insert_member(rs_pg, cid, busy, endpoint_id, digest_id=sent),
        await insert_member(rs_pg, cid, busy, endpoint_id, digest_id=retry),
        await insert_member(rs_pg, cid, busy, endpoint_id),
    ]
    # The retrying digest's member is still GROUPED (its digest is not sent yet).
    await rs_pg.execute(
        "UPDATE deliveries SET status = 'GROUPED' WHERE notification_id = $1", members[2]
    )
    await rs_pg.execute(
        "UPDATE notifications SET status = 'GROUPED' WHERE notification_id = $1", members[2]
    )
    await insert_digest(rs_pg, sent, busy, 1, [members[1], members[0]])
    await insert_digest(rs_pg, retry, busy, 2, [members[2]], status="RETRY")
    return Seeded(cid, api, rule_id, endpoint_id, closed, busy, gone, sent, retry, members)


def ids(page: dict[str, Any]) -> list[str]:
    return [g["group_id"] for g in page["items"]]


async def test_the_list_is_newest_first_with_counts_filters_and_pages(
    admin: Api, new_client: NewClient, rs_pg: Any
) -> None:
    s = await seed(new_client, rs_pg)
    page = await s.api.ok("GET", GROUPS, 200)
    assert ids(page) == [str(s.gone), str(s.busy), str(s.closed)]
    by_id = {g["group_id"]: g for g in page["items"]}
    busy = by_id[str(s.busy)]
    assert (busy["pending"], busy["members"], busy["digests"]) == (1, 4, 2)
    assert busy["state"] == "open" and busy["closed_at"] is None and busy["due_at"]
    assert busy["labels"] == {"source": "db"} and busy["kind"] == "firing"
    assert busy["endpoint_type"] == "email" and busy["rule_id"] == str(s.rule_id)
    assert busy["client_id"] == s.client_id and busy["flushes"] == 0
    assert by_id[str(s.closed)]["state"] == "closed"
    assert (by_id[str(s.closed)]["members"], by_id[str(s.closed)]["digests"]) == (0, 0)
    assert by_id[str(s.gone)]["endpoint_type"] is None  # its endpoint is deleted

    open_only = await s.api.ok("GET", GROUPS, 200, params={"state": "open"})
    assert ids(open_only) == [str(s.gone), str(s.busy)]
    closed_only = await s.api.ok("GET", GROUPS, 200, params={"state": "closed"})
    assert ids(closed_only) == [str(s.closed)]
    of_endpoint = await s.api.ok("GET", GROUPS, 200, params={"endpoint_id": str(s.endpoint_id)})
    assert ids(of_endpoint) == [str(s.busy), str(s.closed)]
    assert ids(await s.api.ok("GET", GROUPS, 200, params={"rule_id": str(uuid.uuid4())})) == []

    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        one = await s.api.ok("GET", GROUPS, 200, params=params)
        seen += ids(one)
        cursor = one["next_cursor"]
        if cursor is None:
            break
    assert seen == ids(page)

    assert ids(await admin.ok("GET", GROUPS, 200, params={"client_id": s.client_id})) == ids(page)
    refused = await s.api.get(GROUPS, params={"state": "shut"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "state"
    bad_cursor = await s.api.get(GROUPS, params={"cursor": "x" * 20})
    assert bad_cursor.status_code == 422


async def test_a_group_and_a_digest_with_its_members(new_client: NewClient, rs_pg: Any) -> None:
    s = await seed(new_client, rs_pg)
    group = await s.api.ok("GET", f"{GROUPS}/{s.busy}", 200)
    assert (group["pending"], group["members"], group["digests"]) == (1, 4, 2)
    assert [d["digest_id"] for d in group["latest_digests"]] == [
        str(s.retry_digest), str(s.sent_digest)
    ]  # fmt: skip
    sent = group["latest_digests"][1]
    assert sent["seq"] == 1 and sent["repeat"] is False and sent["members"] == 2
    assert sent["status"] == "SENT" and sent["response_code"] == 200 and sent["sent_at"]

    path = f"{GROUPS}/{s.busy}/digests/{s.sent_digest}"
    digest = await s.api.ok("GET", path, 200)
    assert digest["group_id"] == str(s.busy) and digest["status"] == "SENT"
    # The digest's own order, each member's delivery to the group's endpoint.
    assert [m["notification_id"] for m in digest["notifications"]] == [
        str(s.members[1]), str(s.members[0])
    ]  # fmt: skip
    member = digest["notifications"][0]
    assert member == {
        "notification_id": str(s.members[1]), "alert_id": f"a-{s.members[1]}",
        "kind": "firing", "episode": 1, "severity": "HIGH", "source": "db", "name": "disk",
        "status": "SENT",
    }  # fmt: skip
    retrying = await s.api.ok("GET", f"{GROUPS}/{s.busy}/digests/{s.retry_digest}", 200)
    assert [m["status"] for m in retrying["notifications"]] == ["GROUPED"]

    # A digest is found only under its own group.
    other = await s.api.get(f"{GROUPS}/{s.closed}/digests/{s.sent_digest}")
    assert other.status_code == 404
    for missing in (f"{GROUPS}/{uuid.uuid4()}", f"{GROUPS}/not-a-uuid",
                    f"{GROUPS}/{s.busy}/digests/{uuid.uuid4()}"):  # fmt: skip
        assert (await s.api.get(missing)).status_code == 404, missing


async def test_another_tenants_groups_are_invisible(
    admin: Api, new_client: NewClient, rs_pg: Any
) -> None:
    s = await seed(new_client, rs_pg)
    _, other = await new_client("grp")
    assert ids(await other.ok("GET", GROUPS, 200)) == []
    assert ids(await other.ok("GET", GROUPS, 200, params={"client_id": s.client_id})) == []
    for path in (f"{GROUPS}/{s.busy}", f"{GROUPS}/{s.busy}/digests/{s.sent_digest}"):
        response = await other.get(path)
        assert response.status_code == 404 and "Traceback" not in response.text
        assert (await admin.get(path)).status_code == 200


async def test_grouped_notifications_show_their_group_and_digest(
    new_client: NewClient, rs_pg: Any
) -> None:
    s = await seed(new_client, rs_pg)
    grouped = await s.api.ok("GET", "/api/v1/notifications", 200, params={"status": "GROUPED"})
    assert [n["notification_id"] for n in grouped["items"]] == [
        str(s.members[2]), str(s.members[3])
    ]  # fmt: skip

    waiting = await s.api.ok("GET", f"/api/v1/notifications/{s.members[3]}", 200)
    assert [(d["status"], d["group_id"], d["digest_id"]) for d in waiting["deliveries"]] == [
        ("GROUPED", str(s.busy), None)
    ]  # fmt: skip
    sent = await s.api.ok("GET", f"/api/v1/notifications/{s.members[0]}", 200)
    assert [(d["group_id"], d["digest_id"]) for d in sent["deliveries"]] == [
        (str(s.busy), str(s.sent_digest))
    ]  # fmt: skip
    attempts = await s.api.ok("GET", f"/api/v1/notifications/{s.members[0]}/attempts", 200)
    assert [a["digest_id"] for a in attempts["items"]] == [str(s.sent_digest)]

    # A re-drive takes only FAILED notifications: a GROUPED one is left to its group.
    for member in s.members[2:]:
        refused = await s.api.post(f"/api/v1/notifications/{member}/retry")
        assert refused.status_code == 409 and "GROUPED" in refused.json()["detail"]
    bulk = await s.api.ok("POST", "/api/v1/notifications/retry", 200, json={})
    assert bulk["retried"] == 0
    statuses = await rs_pg.fetch(
        "SELECT d.status AS delivery, n.status AS notification FROM deliveries d"
        " JOIN notifications n USING (notification_id) WHERE n.notification_id = ANY($1)",
        s.members[2:],
    )
    assert {(r["delivery"], r["notification"]) for r in statuses} == {("GROUPED", "GROUPED")}


async def test_the_openapi_document_has_the_group_routes(admin: Api) -> None:
    paths = (await admin.ok("GET", "/openapi.json", 200))["paths"]
    listed = paths[GROUPS]["get"]
    assert {p["name"] for p in listed["parameters"]} >= {
        "client_id", "rule_id", "endpoint_id", "state", "limit", "cursor"
    }  # fmt: skip
    assert {p["name"] for p in paths[GROUPS + "/{group_id}/digests/{digest_id}"]["get"][
        "parameters"]} == {"group_id", "digest_id"}  # fmt: skip
    assert "404" in paths[GROUPS + "/{group_id}"]["get"]["responses"]
