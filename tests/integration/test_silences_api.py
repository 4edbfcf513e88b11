"""Silences and maintenance windows over real HTTP and Postgres: CRUD, validation naming
the field, optimistic locking, expiry, listing, tenant isolation, audit, outbox."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, NewClient
from tests.integration.silence_support import SILENCES, all_week, in_, silence_body

pytestmark = pytest.mark.integration


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_create_get_patch_expire(admin: Api, new_client: NewClient) -> None:
    cid, api = await new_client("sil")
    created = await api.ok("POST", SILENCES, 201, json=silence_body(cid))
    assert created["version"] == 1 and created["state"] == "active"
    assert created["created_by"].startswith("key:") and created["client_id"] == cid
    assert created["matchers"] == [{"name": "source", "op": "=", "value": "db"}]
    assert created["schedule"] is None and created["expired_at"] is None
    assert abs(parse(created["starts_at"]) - datetime.now(UTC)) < timedelta(seconds=30)
    path = f"{SILENCES}/{created['silence_id']}"
    assert await api.ok("GET", path, 200) == created
    by_admin = await admin.ok("POST", SILENCES, 201, json=silence_body(cid))
    assert by_admin["created_by"] == "admin"

    later = in_(hours=3)
    changed = await api.ok(
        "PATCH", path, 200,
        json={"version": 1, "ends_at": later, "comment": "longer",
              "matchers": [{"name": "context.env", "op": "=~", "value": "prod-.*"}]},
    )  # fmt: skip
    assert changed["version"] == 2 and changed["comment"] == "longer"
    assert parse(changed["ends_at"]) == parse(later)
    assert changed["matchers"][0]["name"] == "context.env"
    assert (await api.ok("PATCH", path, 200, json={"version": 2}))["version"] == 2  # a no-op
    stale = await api.patch(path, json={"version": 1, "comment": "x"})
    assert stale.status_code == 409 and stale.json()["current_version"] == 2

    later = silence_body(cid, starts_at=in_(hours=1), ends_at=in_(hours=2))
    pending = await api.ok("POST", SILENCES, 201, json=later)
    assert pending["state"] == "pending"

    await api.ok("DELETE", path, 204)
    expired = await api.ok("GET", path, 200)
    assert expired["state"] == "expired" and expired["version"] == 3
    assert abs(parse(expired["ends_at"]) - datetime.now(UTC)) < timedelta(seconds=30)
    assert expired["expired_at"] is not None
    await api.ok("DELETE", path, 204)  # over already: nothing changes
    assert (await api.ok("GET", path, 200))["version"] == 3
    over = await api.patch(path, json={"version": 3, "comment": "revive"})
    assert over.status_code == 409

    # A silence that had not started expires too.
    await api.ok("DELETE", f"{SILENCES}/{pending['silence_id']}", 204)
    assert (await api.ok("GET", f"{SILENCES}/{pending['silence_id']}", 200))["state"] == "expired"


async def test_windows_are_active_only_inside_their_ranges(new_client: NewClient) -> None:
    cid, api = await new_client("win")
    body = silence_body(cid, ends_at=None, schedule=all_week("Asia/Tokyo"))
    always = await api.ok("POST", SILENCES, 201, json=body)
    assert always["state"] == "active" and always["ends_at"] is None
    assert always["schedule"] == all_week("Asia/Tokyo")
    # One minute a week, on tomorrow's weekday: pending now.
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).weekday()
    day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][tomorrow]
    rare = {"time_zone": "UTC", "ranges": [{"days": [day], "start": "12:00", "end": "12:01"}]}
    body = silence_body(cid, ends_at=None, schedule=rare)
    window = await api.ok("POST", SILENCES, 201, json=body)
    assert window["state"] == "pending"
    # Removing the schedule needs an end.
    path = f"{SILENCES}/{window['silence_id']}"
    refused = await api.patch(path, json={"version": 1, "schedule": None})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "ends_at"
    unscheduled = {"version": 1, "schedule": None, "ends_at": in_(hours=1)}
    plain = await api.ok("PATCH", path, 200, json=unscheduled)
    assert plain["schedule"] is None and plain["state"] == "active"


def matcher(**over: Any) -> list[dict[str, Any]]:
    return [{"name": "source", "op": "=", "value": "db", **over}]


def one_range(**over: Any) -> dict[str, Any]:
    return {"time_zone": "UTC", "ranges": [{"days": ["mon"], "start": "02:00", "end": "04:00",
                                            **over}]}  # fmt: skip


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"matchers": matcher(op="=~", value="db-(")}, "matchers[0].value"),
        ({"matchers": matcher(op="=~", value="a" * 1025)}, "matchers[0].value"),
        ({"matchers": matcher(value="a" * 1025)}, "matchers[0].value"),
        ({"matchers": matcher(name="host")}, "matchers[0].name"),
        ({"matchers": matcher(name="context.")}, "matchers[0].name"),
        ({"matchers": matcher(op="~")}, "matchers[0].op"),
        ({"matchers": []}, "matchers"),
        ({"matchers": matcher() * 17}, "matchers"),
        ({"starts_at": in_(hours=2), "ends_at": in_(hours=1)}, "ends_at"),
        ({"ends_at": None}, "ends_at"),
        ({"ends_at": in_(hours=-1)}, "ends_at"),
        ({"ends_at": "2030-01-01T00:00:00"}, "ends_at"),  # no offset
        ({"schedule": {**one_range(), "time_zone": "Mars/Olympus"}}, "schedule.time_zone"),
        ({"schedule": one_range(days=["monday"])}, "schedule.ranges[0].days[0]"),
        ({"schedule": one_range(days=[])}, "schedule.ranges[0].days"),
        ({"schedule": one_range(start="25:00")}, "schedule.ranges[0].start"),
        ({"schedule": one_range(start="2:00")}, "schedule.ranges[0].start"),
        ({"schedule": one_range(end="00:00")}, "schedule.ranges[0].end"),
        ({"schedule": {"time_zone": "UTC", "ranges": []}}, "schedule.ranges"),
        ({"comment": "x" * 1001}, "comment"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_validation_names_the_field(
    new_client: NewClient, over: dict[str, Any], field: str
) -> None:
    cid, api = await new_client("bad")
    body = {**silence_body(cid), **over}
    response = await api.post(SILENCES, json={k: v for k, v in body.items() if v is not None})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]], response.json()


async def test_patch_validates_like_create(new_client: NewClient) -> None:
    cid, api = await new_client("badp")
    created = await api.ok("POST", SILENCES, 201, json=silence_body(cid))
    path = f"{SILENCES}/{created['silence_id']}"
    for body, field in [
        ({"ends_at": in_(hours=-1)}, "ends_at"),
        ({"starts_at": in_(hours=5)}, "ends_at"),
        ({"matchers": matcher(op="!~", value="(")}, "matchers[0].value"),
        ({"schedule": one_range(days=["funday"])}, "schedule.ranges[0].days[0]"),
    ]:
        response = await api.patch(path, json={"version": 1, **body})
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"][0]["field"] == field
    assert (await api.ok("GET", path, 200))["version"] == 1


async def test_listing_pages_with_a_cursor_and_filters_by_state(
    admin: Api, new_client: NewClient
) -> None:
    cid, api = await new_client("list")
    active = [await api.ok("POST", SILENCES, 201, json=silence_body(cid)) for _ in range(3)]
    pending = await api.ok("POST", SILENCES, 201, json=silence_body(
        cid, starts_at=in_(hours=1), ends_at=in_(hours=2)))  # fmt: skip
    await api.ok("DELETE", f"{SILENCES}/{active[0]['silence_id']}", 204)

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await api.ok("GET", SILENCES, 200, params=params)
        seen += [s["silence_id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [s["silence_id"] for s in (*active, pending)]

    async def ids(state: str) -> list[str]:
        page = await admin.ok("GET", SILENCES, 200, params={"client_id": cid, "state": state})
        return [s["silence_id"] for s in page["items"]]

    assert await ids("active") == [s["silence_id"] for s in active[1:]]
    assert await ids("pending") == [pending["silence_id"]]
    assert await ids("expired") == [active[0]["silence_id"]]
    bad = await api.get(SILENCES, params={"state": "sleeping"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "state"


async def test_tenants_see_only_their_own_silences(admin: Api, new_client: NewClient) -> None:
    mine, me = await new_client("mine")
    theirs, them = await new_client("theirs")
    my_silence = await me.ok("POST", SILENCES, 201, json=silence_body(mine))
    their_silence = await them.ok("POST", SILENCES, 201, json=silence_body(theirs))
    path = f"{SILENCES}/{their_silence['silence_id']}"
    assert (await me.get(path)).status_code == 404
    assert (await me.patch(path, json={"version": 1, "comment": "mine now"})).status_code == 404
    assert (await me.delete(path)).status_code == 404
    assert (await me.post(SILENCES, json=silence_body(theirs))).status_code == 404
    assert (await me.get(f"{SILENCES}/{uuid.uuid4()}")).status_code == 404
    assert (await me.get(f"{SILENCES}/not-a-uuid")).status_code == 404
    listed = await me.ok("GET", SILENCES, 200)
    assert {s["client_id"] for s in listed["items"]} == {mine}
    assert (await me.ok("GET", SILENCES, 200, params={"client_id": theirs}))["items"] == []
    untouched = await admin.ok("GET", path, 200)
    assert untouched["version"] == 1 and untouched["state"] == "active"
    everyone: set[str] = set()
    cursor = None
    while True:
        page = await admin.ok("GET", SILENCES, 200, params={"limit": 500, **(
            {"cursor": cursor} if cursor else {})})  # fmt: skip
        everyone |= {s["silence_id"] for s in page["items"]}
        if (cursor := page["next_cursor"]) is None:
            break
    assert {my_silence["silence_id"], their_silence["silence_id"]} <= everyone


async def test_changes_are_audited_and_write_silence_outbox_rows(
    admin: Api, new_client: NewClient, rs_pg: Any
) -> None:
    cid, api = await new_client("aud")
    created = await api.ok("POST", SILENCES, 201, json=silence_body(cid))
    sid = created["silence_id"]
    await api.ok("PATCH", f"{SILENCES}/{sid}", 200, json={"version": 1, "comment": "b"})
    await api.ok("DELETE", f"{SILENCES}/{sid}", 204)
    await api.ok("DELETE", f"{SILENCES}/{sid}", 204)  # no change, no rows
    outbox = await rs_pg.fetch(
        "SELECT rule_id::text, action, version, entity FROM rule_outbox WHERE client_id = $1"
        " ORDER BY outbox_id",
        cid,
    )
    assert [tuple(r) for r in outbox] == [
        (sid, "CREATED", 1, "SILENCE"), (sid, "UPDATED", 2, "SILENCE"),
        (sid, "DELETED", 3, "SILENCE"),
    ]  # fmt: skip
    page = await admin.ok("GET", "/api/v1/audit", 200, params={"client_id": cid, "limit": 50})
    rows = [r for r in page["items"] if r["resource_type"] == "silence"]
    assert [r["action"] for r in rows] == ["silence.create", "silence.update", "silence.expire"]
    assert all(r["resource_id"] == sid and r["actor"].startswith("key:") for r in rows)
    assert rows[0]["details"]["matchers"] == ["source=db"]

    # A refused change writes neither.
    assert (await api.post(SILENCES, json=silence_body(cid, ends_at=None))).status_code == 422
    assert await rs_pg.fetchval("SELECT count(*) FROM rule_outbox WHERE client_id = $1", cid) == 3

    # Deleting the client says DELETED for each of its silences.
    other = await api.ok("POST", SILENCES, 201, json=silence_body(cid))
    await admin.ok("DELETE", f"/api/v1/clients/{cid}", 204)
    last = await rs_pg.fetch(
        "SELECT rule_id::text, action, version, entity FROM rule_outbox"
        " WHERE client_id = $1 AND outbox_id > (SELECT max(outbox_id) - 2 FROM rule_outbox"
        " WHERE client_id = $1) ORDER BY rule_id",
        cid,
    )
    assert sorted(tuple(r) for r in last) == sorted(
        [(sid, "DELETED", 4, "SILENCE"), (other["silence_id"], "DELETED", 2, "SILENCE")]
    )
    assert await rs_pg.fetchval("SELECT count(*) FROM silences WHERE client_id = $1", cid) == 0


async def test_concurrent_patches_with_the_same_version_one_wins(new_client: NewClient) -> None:
    cid, api = await new_client("race")
    sid = (await api.ok("POST", SILENCES, 201, json=silence_body(cid)))["silence_id"]
    responses = await asyncio.gather(
        *(api.patch(f"{SILENCES}/{sid}", json={"version": 1, "comment": f"c{i}"}) for i in range(6))
    )
    assert sorted(r.status_code for r in responses) == [200] + [409] * 5
