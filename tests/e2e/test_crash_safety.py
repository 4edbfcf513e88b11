"""Crash safety: SIGKILL one real service during a run of interleaved firing and
resolved traffic over 2,000 episodes, restart it, and check that every episode has
exactly one firing and (when resolved) one resolved notification, all delivered, that
any re-delivery carries the same Idempotency-Key, and that no endpoint got an episode's
resolved before its firing."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import defaultdict
from typing import Any

import asyncpg
import pytest

from tests.e2e.pipeline import Pipeline
from tests.pipeline_support import eventually

pytestmark = pytest.mark.e2e

ALERTS = 1_000  # two episodes each: 2,000 episodes
BATCH = 500


def script(i: int) -> list[str]:
    """Alert i fires, is re-sent, resolves, fires again; every other one resolves again."""
    return ["firing", "firing", "resolved", "firing"] + (["resolved"] if i % 2 == 0 else [])


def expected_rows(i: int) -> set[tuple[int, str]]:
    rows = {(1, "firing"), (1, "resolved"), (2, "firing")}
    return rows | ({(2, "resolved")} if i % 2 == 0 else set())


ROWS = sum(len(expected_rows(i)) for i in range(ALERTS))


def phases(unique: str) -> list[list[dict[str, Any]]]:
    """Alert i's k-th event goes in phase k + i % 3, so each phase mixes firings and
    resolveds of different alerts; an alert's events have increasing event_ts."""
    base = int(time.time())
    out: list[list[dict[str, Any]]] = [[] for _ in range(len(script(0)) + 2)]
    for i in range(ALERTS):
        for k, status in enumerate(script(i)):
            out[k + i % 3].append(
                {
                    "alert_id": f"{unique}-{i}",
                    "severity": "HIGH",
                    "source": "crash",
                    "name": f"n{i % 7}",
                    "event_ts": base + k,
                    "status": status,
                }
            )
    return out


async def post_in_order(pipeline: Pipeline, unique: str) -> None:
    """Phase after phase, each answered (acknowledged by Kafka) before the next: an
    alert's events enter the platform in their order."""
    for phase in phases(unique):
        await asyncio.gather(
            *(pipeline.post_alerts(phase[i : i + BATCH]) for i in range(0, len(phase), BATCH))
        )


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
    return how many such calls there were at the moment of death.

    The sender is frozen (SIGSTOP) before the calls are counted: counted while it runs,
    its next outcome write could land between the count and the kill, and a death with
    nothing in flight proves nothing. Frozen with nothing in flight, it is thawed and
    the wait goes on."""
    sent = "SELECT count(*) FROM notifications WHERE status = 'SENT'"
    sender = pipeline.procs["sender"]
    assert sender.process is not None

    async def in_flight() -> int:
        return len(await pipeline.received("crash")) - await count(pipeline, sent)

    async def answered_not_recorded() -> bool:
        recorded = await count(pipeline, sent)
        return len(await pipeline.received("crash")) - recorded >= 20 and recorded > 0

    for _ in range(20):
        await eventually(answered_not_recorded, timeout=120, what="deliveries in flight")
        os.killpg(sender.process.pid, signal.SIGSTOP)
        await asyncio.sleep(0.5)  # a COMMIT already sent lands meanwhile
        found = await in_flight()
        if found > 0:
            sender.kill()
            return found
        os.killpg(sender.process.pid, signal.SIGCONT)
    raise AssertionError("the sender was never caught with answered calls unrecorded")


async def aggregator_dies_in_a_backlog(pipeline: Pipeline, unique: str) -> None:
    """The aggregator is stopped while the traffic is posted, then takes the backlog in
    batches of the phases in order, the second holding for most alerts a resolved and the
    firing of the next episode (rounds), and dies right after that batch's INSERT,
    before publishing and committing: the batch comes again to its successor, whose
    replayed resolved must not close the episode its replayed firing opened."""
    pipeline.procs["aggregator"].kill()
    await post_in_order(pipeline, unique)
    failing = pipeline.restart(
        "aggregator", ready_timeout=None, ALERTING_FAILPOINT="aggregator.after_insert:2"
    )
    assert failing.process is not None
    assert await asyncio.to_thread(failing.process.wait, 120) == -9, "no failpoint"


@pytest.mark.parametrize("victim", ["aggregator", "evaluator", "sender"])
async def test_sigkill_mid_run_loses_and_duplicates_nothing(
    pipeline: Pipeline, unique: str, victim: str
) -> None:
    await pipeline.start()
    tenant = await pipeline.create_tenant(
        f"crash-{unique}",
        rules=[("HIGH", "crash", "*"), ("*", "crash", "*")],  # both match: still one each
        endpoints=[("webhook", f"{pipeline.hook_base}/crash")],
    )
    await pipeline.wait_rules_live(2)

    in_flight = 0
    if victim == "aggregator":
        await aggregator_dies_in_a_backlog(pipeline, unique)
    else:
        poster = asyncio.ensure_future(post_in_order(pipeline, unique))
        if victim == "evaluator":
            await kill_when(pipeline, victim, "SELECT count(*) FROM notifications", ROWS // 5)
        else:
            in_flight = await kill_sender_mid_delivery(pipeline)
        await poster
    pipeline.restart(victim)

    async def all_sent() -> bool:
        return bool(
            await count(
                pipeline,
                f"SELECT (count(*) >= {ROWS} AND count(*) FILTER (WHERE status = 'SENT')"
                " = count(*))::int FROM notifications",
            )
        )

    await eventually(all_sent, timeout=240, what=f"{ROWS} notifications SENT")
    rows = await pipeline.notifications()
    assert {r["client_id"] for r in rows} == {tenant.client_id}
    made: defaultdict[str, list[tuple[int, str]]] = defaultdict(list)
    for r in rows:
        made[r["alert_id"]].append((r["episode"], r["kind"]))
    wrong = {
        alert_id: sorted(made[alert_id])
        for i in range(ALERTS)
        if sorted(made[alert_id := f"{unique}-{i}"]) != sorted(expected_rows(i))
    }
    assert not wrong, (
        f"{len(wrong)} alerts with other rows than planned, e.g. {list(wrong.items())[:3]}"
    )
    assert len(rows) == ROWS

    row_by_id = {r["id"]: r for r in rows}
    calls = await pipeline.received("crash")
    delivered: set[str] = set()
    # (alert, episode) -> arrival positions of its firing and of its resolved messages
    arrivals: defaultdict[tuple[str, int], dict[str, list[int]]] = defaultdict(
        lambda: {"firing": [], "resolved": []}
    )
    for position, call in enumerate(calls):
        key, body = call["headers"]["idempotency-key"], call["body"]
        row = row_by_id.get(key)
        assert row is not None, f"a message with an unknown Idempotency-Key: {body}"
        assert (body["alert_id"], body["status"], body["episode"]) == (
            row["alert_id"],
            row["kind"],
            row["episode"],
        )
        delivered.add(key)
        arrivals[(row["alert_id"], row["episode"])][row["kind"]].append(position)
    assert delivered == set(row_by_id), "some notification was never delivered"
    early = [
        episode
        for episode, at in arrivals.items()
        if at["resolved"] and max(at["firing"]) > min(at["resolved"])
    ]
    assert not early, f"resolved before (a copy of) its firing at the endpoint: {early[:5]}"
    redelivered = len(calls) - ROWS
    if victim == "sender":
        # Calls the sink answered but the dead sender never recorded: sent again, same key.
        assert redelivered >= in_flight > 0
    print(f"{victim}: {len(calls)} webhook calls for {ROWS} notifications ({redelivered} again)")
