"""Crash safety: SIGKILL one real service during a run of 5,000 alerts, restart it, and
check that every notification is delivered, none twice stored, and that any
re-delivery carries the same Idempotency-Key."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import asyncpg
import pytest

from tests.e2e.pipeline import Pipeline
from tests.pipeline_support import eventually

pytestmark = pytest.mark.e2e

ALERTS = 5_000
BATCH = 500


def alerts(unique: str) -> list[dict[str, object]]:
    return [
        {"alert_id": f"{unique}-{i}", "severity": "HIGH", "source": "crash", "name": f"n{i % 7}"}
        for i in range(ALERTS)
    ]


async def count(pipeline: Pipeline, sql: str) -> int:
    conn = await asyncpg.connect(pipeline.settings.postgres_dsn)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def kill_when(pipeline: Pipeline, victim: str, sql: str, threshold: int) -> None:
    """SIGKILL ``victim`` once the query's count passes ``threshold``: mid-run, not after."""

    async def passed() -> bool:
        return await count(pipeline, sql) >= threshold

    await eventually(passed, timeout=120, what=f"{victim} progress before the kill")
    pipeline.procs[victim].kill()


async def kill_sender_mid_delivery(pipeline: Pipeline) -> int:
    """SIGKILL the sender while the sink has answered calls it has not recorded yet;
    return how many such calls there were at the moment of death."""
    sent = "SELECT count(*) FROM notifications WHERE status = 'SENT'"

    async def answered_not_recorded() -> bool:
        recorded = await count(pipeline, sent)
        return len(await pipeline.received("crash")) - recorded >= 20 and recorded > 0

    await eventually(answered_not_recorded, timeout=120, what="deliveries in flight")
    pipeline.procs["sender"].kill()
    return len(await pipeline.received("crash")) - await count(pipeline, sent)


@pytest.mark.parametrize("victim", ["aggregator", "evaluator", "sender"])
async def test_sigkill_mid_run_loses_and_duplicates_nothing(
    pipeline: Pipeline, unique: str, victim: str
) -> None:
    extra = {"ALERTING_FAILPOINT": "aggregator.after_insert:3"} if victim == "aggregator" else {}
    await pipeline.start()
    if extra:  # dies on its own, right after its third batch INSERT, before publishing
        pipeline.restart("aggregator", **extra)
    tenant = await pipeline.create_tenant(
        f"crash-{unique}",
        rules=[("HIGH", "crash", "*"), ("*", "crash", "*")],  # both match: still one each
        endpoints=[("webhook", f"{pipeline.hook_base}/crash")],
    )
    await pipeline.wait_rules_live(2)

    batches = alerts(unique)
    in_flight = 0
    poster = asyncio.ensure_future(
        asyncio.gather(
            *(pipeline.post_alerts(batches[i : i + BATCH]) for i in range(0, ALERTS, BATCH))
        )
    )
    if victim == "aggregator":
        proc = pipeline.procs["aggregator"].process
        assert proc is not None
        assert await asyncio.to_thread(proc.wait, 120) == -9, "the failpoint did not fire"
    elif victim == "evaluator":
        await kill_when(pipeline, victim, "SELECT count(*) FROM notifications", ALERTS // 5)
    else:
        in_flight = await kill_sender_mid_delivery(pipeline)
    await poster
    pipeline.restart(victim)

    async def all_sent() -> bool:
        return (
            await count(pipeline, "SELECT count(*) FROM notifications WHERE status = 'SENT'")
            == ALERTS
        )

    await eventually(all_sent, timeout=240, what=f"{ALERTS} notifications SENT")
    rows = await pipeline.notifications()
    assert len(rows) == ALERTS
    assert len({(r["client_id"], r["alert_id"]) for r in rows}) == ALERTS
    assert {r["client_id"] for r in rows} == {tenant.client_id}
    ids_by_alert = {r["alert_id"]: r["id"] for r in rows}
    assert set(ids_by_alert) == {a["alert_id"] for a in batches}

    calls = await pipeline.received("crash")
    keys_by_alert: defaultdict[str, set[str]] = defaultdict(set)
    for call in calls:
        keys_by_alert[call["body"]["alert_id"]].add(call["headers"]["idempotency-key"])
    assert set(keys_by_alert) == set(ids_by_alert), "some notification was never delivered"
    assert all(keys == {ids_by_alert[a]} for a, keys in keys_by_alert.items())
    redelivered = len(calls) - ALERTS
    if victim == "sender":
        # Calls the sink answered but the dead sender never recorded: sent again, same key.
        assert redelivered >= in_flight > 0
    print(f"{victim}: {len(calls)} webhook calls for {ALERTS} notifications ({redelivered} again)")
