"""Every rule mutation writes its rule_outbox row in the same transaction; a refused
mutation writes nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, NewClient

pytestmark = pytest.mark.integration


async def outbox(rs_pg: Any, client_id: str) -> list[tuple[str, str, int]]:
    rows = await rs_pg.fetch(
        "SELECT rule_id::text, action, version FROM rule_outbox WHERE client_id = $1"
        " ORDER BY outbox_id",
        client_id,
    )
    return [(r["rule_id"], r["action"], r["version"]) for r in rows]


async def test_each_mutation_writes_its_action_and_version(
    admin: Api, new_client: NewClient, rs_pg: Any
) -> None:
    cid, api = await new_client()
    rule = await api.ok(
        "POST", "/api/v1/rules", 201,
        json={"client_id": cid, "severity": "HIGH", "source": "db", "name": "*"},
    )  # fmt: skip
    rid, path = rule["rule_id"], f"/api/v1/rules/{rule['rule_id']}"
    await api.ok("PATCH", path, 200, json={"version": 1, "name": "disk"})
    await api.ok("PATCH", path, 200, json={"version": 2, "enabled": False})
    await api.ok("PATCH", path, 200, json={"version": 3, "enabled": True})
    await api.ok("DELETE", path, 204)
    assert await outbox(rs_pg, cid) == [
        (rid, "CREATED", 1),
        (rid, "UPDATED", 2),
        (rid, "DISABLED", 3),
        (rid, "UPDATED", 4),
        (rid, "DELETED", 5),
    ]


async def test_refused_mutations_write_nothing(
    admin: Api, new_client: NewClient, rs_pg: Any
) -> None:
    cid, api = await new_client()
    body = {"client_id": cid, "severity": "LOW", "source": "a", "name": "b"}
    rule = await api.ok("POST", "/api/v1/rules", 201, json=body)
    other = await api.ok("POST", "/api/v1/rules", 201, json={**body, "name": "c"})
    before = await outbox(rs_pg, cid)
    path = f"/api/v1/rules/{rule['rule_id']}"
    assert (await api.patch(path, json={"version": 7, "name": "z"})).status_code == 409
    assert (await api.post("/api/v1/rules", json=body)).status_code == 409
    clash = {"version": 1, "name": "b"}
    assert (await api.patch(f"/api/v1/rules/{other['rule_id']}", json=clash)).status_code == 409
    assert (
        await api.patch(path, json={"version": 1, "source": "*", "severity": "*", "name": "*"})
    ).status_code == 422
    assert (await api.patch(path, json={"version": 1})).status_code == 200  # a no-op
    assert (await api.delete(f"/api/v1/rules/{uuid.uuid4()}")).status_code == 404
    assert await outbox(rs_pg, cid) == before


async def test_client_delete_writes_one_deleted_row_per_rule(
    admin: Api, new_client: NewClient, rs_pg: Any
) -> None:
    cid, api = await new_client()
    rules = []
    for name in ("a", "b", "c"):
        body = {"client_id": cid, "severity": "LOW", "source": "s", "name": name}
        rules.append(await api.ok("POST", "/api/v1/rules", 201, json=body))
    await api.ok(
        "PATCH", f"/api/v1/rules/{rules[0]['rule_id']}", 200, json={"version": 1, "name": "a2"}
    )
    await admin.ok("DELETE", f"/api/v1/clients/{cid}", 204)
    deleted = [row for row in await outbox(rs_pg, cid) if row[1] == "DELETED"]
    assert sorted(deleted) == sorted(
        [(rules[0]["rule_id"], "DELETED", 3), (rules[1]["rule_id"], "DELETED", 2),
         (rules[2]["rule_id"], "DELETED", 2)]
    )  # fmt: skip
    assert await rs_pg.fetchval("SELECT count(*) FROM rules WHERE client_id = $1", cid) == 0
    assert await rs_pg.fetchval("SELECT count(*) FROM api_keys WHERE client_id = $1", cid) == 0


async def test_outbox_row_wakes_listeners_on_commit(
    admin: Api, new_client: NewClient, rs_pg: Any
) -> None:
    cid, api = await new_client()
    woken = asyncio.Event()

    def wake(*_: object) -> None:
        woken.set()

    await rs_pg.add_listener("rule_outbox", wake)
    try:
        body = {"client_id": cid, "severity": "LOW", "source": "s", "name": "wake"}
        await api.ok("POST", "/api/v1/rules", 201, json=body)
        await asyncio.wait_for(woken.wait(), 5)
    finally:
        await rs_pg.remove_listener("rule_outbox", wake)


async def test_concurrent_patches_with_the_same_version_one_wins(
    new_client: NewClient, rs_pg: Any
) -> None:
    cid, api = await new_client()
    body = {"client_id": cid, "severity": "LOW", "source": "s", "name": "race"}
    rule = await api.ok("POST", "/api/v1/rules", 201, json=body)
    path = f"/api/v1/rules/{rule['rule_id']}"
    responses = await asyncio.gather(
        *(api.patch(path, json={"version": 1, "source": f"s{i}"}) for i in range(8))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 7
    assert [a for _, a, _ in await outbox(rs_pg, cid)] == ["CREATED", "UPDATED"]
