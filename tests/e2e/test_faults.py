"""The fault suite: a dependency goes away for 20 s in the middle of a 3,000-alert run.

(a) Postgres stopped, (b) Redis stopped and restarted empty, (c) the broker unreachable
(the proxy in front of it refuses new connections and resets open ones; the broker and
its data stay). Through each, every alert must reach the webhook and the SMTP sink
exactly once, no notification may end FAILED, ingest keys keep getting 202 (for the
broker, a 503 with Retry-After that the poster obeys, and no acknowledged alert lost),
and no service process may exit. Each test has its own servers, topics and database,
so the scenarios can run side by side. Recovery times are printed, not asserted: the
machine's speed is not the platform's.

In (a) the log lines each service wrote from the outage's start to 10 s after recovery
are counted too: an expected outage is a few state changes, not a traceback per retry.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.faults import (
    Posting,
    PrivateServers,
    dead,
    delivered,
    late,
    lines,
    make_alerts,
    pids,
    post_paced,
    settle,
    start_platform,
    wait_all_delivered,
)
from tests.e2e.pipeline import Pipeline
from tests.pipeline_support import eventually

# About 90 s each on a quiet machine; the suite's default of 300 s is too close on a
# busy one, where starting eight processes alone can take a minute.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

ALERTS = 3_000
BATCH = 50
POSTING_S = 30.0  # alerts go in before, during and after the outage
OUTAGE_AT_S = 5.0
OUTAGE_S = 20.0
AFTER_RECOVERY_S = 10.0  # the log-volume window runs on this long after the restore
MAX_LOG_LINES = 50


@dataclass
class Faulty:
    servers: PrivateServers
    pipeline: Pipeline


@pytest.fixture
async def faulty(base_env: dict[str, str], unique: str, tmp_path: Path) -> AsyncIterator[Faulty]:
    servers = PrivateServers()
    try:
        await servers.start()
        # The default lease: a 20 s outage fits inside a claim, as in production. A
        # reconcile every 10 s (30 by default) rewrites a snapshot Redis lost.
        pipeline = Pipeline(
            servers.env(base_env),
            unique,
            servers.dsn,
            tmp_path,
            ALERTING_SENDER_LEASE_S="60",
            ALERTING_RECONCILE_INTERVAL_S="10",
        )
        try:
            yield Faulty(servers, pipeline)
        finally:
            await pipeline.close()
    finally:
        await servers.close()


@dataclass
class Outcome:
    posting: Posting
    restored_at: float
    log_lines: dict[str, int]  # lines per service from the outage to recovery + 10 s


Action = Callable[[], Awaitable[None]]


async def run_through(faulty: Faulty, unique: str, stop: Action, restore: Action) -> Outcome:
    """Post 3,000 alerts with an ingest key, the outage in the middle; wait until every
    acknowledged alert reached both sinks, then long enough for a late duplicate."""
    pipeline = faulty.pipeline
    token = await start_platform(pipeline)
    before = pids(pipeline)
    alerts = make_alerts(unique, ALERTS)
    posting = Posting()
    poster = asyncio.create_task(post_paced(pipeline, token, alerts, BATCH, POSTING_S, posting))
    await asyncio.sleep(OUTAGE_AT_S)
    logs = {name: proc.log_path for name, proc in pipeline.procs.items()}
    at_start = {name: lines(path) for name, path in logs.items()}
    await stop()
    await asyncio.sleep(OUTAGE_S)
    await restore()
    restored_at = time.time()
    await asyncio.sleep(AFTER_RECOVERY_S)
    log_lines = {name: lines(path) - at_start[name] for name, path in logs.items()}
    await poster
    assert posting.accepted == {a["alert_id"] for a in alerts}
    await wait_all_delivered(pipeline, posting.accepted, timeout=240)
    await settle(pipeline)

    got = await delivered(pipeline, restored_at)
    first_202 = min((t for t in posting.accepted_at if t >= restored_at), default=None)
    print(
        f"\nrecovery after restore: first webhook {_since(got.first_webhook_after, restored_at)},"
        f" first 202 {_since(first_202, restored_at)},"
        f" everything delivered {_since(got.last, restored_at)};"
        f" ingest answers {dict(posting.statuses)}, Retry-After obeyed"
        f" {len(posting.retried_after)}x, transport errors {dict(posting.errors)};"
        f" log lines outage..recovery+{AFTER_RECOVERY_S:.0f}s {log_lines};"
        f" {await late(pipeline, restored_at)}"
    )
    duplicated_hooks = {a: n for a, n in got.webhooks.items() if n > 1}
    duplicated_mails = {a: n for a, n in got.emails.items() if n > 1}
    # A duplicate means a claim's outcome did not land in time: the sender's own lines say
    # why (pytest's temporary directories rotate away before anyone can read them).
    sender_log = pipeline.procs["sender"].logs()
    assert not duplicated_hooks, (
        f"{len(duplicated_hooks)} webhooks duplicated; sender:\n{sender_log}"
    )
    assert not duplicated_mails, f"{len(duplicated_mails)} emails duplicated; sender:\n{sender_log}"
    assert set(got.webhooks) == posting.accepted, "some webhook lost"
    assert set(got.emails) == posting.accepted, "some email lost"
    assert await pipeline.status_counts() == {"SENT": ALERTS}
    assert dead(pipeline) == {}, "a service exited"
    assert pids(pipeline) == before, "a service was restarted"
    return Outcome(posting, restored_at, log_lines)


def _since(moment: float | None, restored_at: float) -> str:
    return "none" if moment is None else f"{moment - restored_at:.1f}s"


def _fast_shutdown(server: PrivateServers) -> None:
    """SIGINT: Postgres's fast shutdown, which ends every session at once (SIGTERM's
    smart shutdown would wait for the services' pools to disconnect)."""
    assert server.postgres is not None and server.postgres.process is not None
    process = server.postgres.process
    os.killpg(os.getpgid(process.pid), signal.SIGINT)
    process.wait(30)
    server.stop_postgres()


async def test_postgres_stopped_for_20s(faulty: Faulty, unique: str) -> None:
    servers = faulty.servers

    async def stop() -> None:
        await asyncio.to_thread(_fast_shutdown, servers)

    async def restore() -> None:
        await asyncio.to_thread(servers.start_postgres)

    outcome = await run_through(faulty, unique, stop, restore)
    assert set(outcome.posting.statuses) == {202}, "an ingest key was refused"
    assert_quiet(outcome)


def assert_quiet(outcome: Outcome) -> None:
    noisy = {name: n for name, n in outcome.log_lines.items() if n >= MAX_LOG_LINES}
    assert not noisy, f"services that logged {MAX_LOG_LINES}+ lines in the outage: {noisy}"


async def test_redis_stopped_for_20s_and_restarted_empty(faulty: Faulty, unique: str) -> None:
    servers, pipeline = faulty.servers, faulty.pipeline
    snapshot_back_at: list[float] = []

    async def snapshot_back() -> bool:
        """The rule-updater is ready only while Redis holds the rule snapshot."""
        ready = await pipeline.http.get(f"{pipeline.url('rule-updater')}/readyz")
        if ready.status_code == 200:
            snapshot_back_at.append(time.time())
        return ready.status_code == 200

    watching: list[asyncio.Task[object]] = []

    async def stop() -> None:
        await asyncio.to_thread(servers.stop_redis)

    async def restore() -> None:
        await asyncio.to_thread(servers.start_redis)
        # Watched from now on, beside the run: the snapshot is written by the next
        # reconcile, long before every alert is delivered.
        what = "the rule snapshot back in Redis"
        watching.append(asyncio.create_task(eventually(snapshot_back, timeout=120, what=what)))

    outcome = await run_through(faulty, unique, stop, restore)
    assert set(outcome.posting.statuses) == {202}, "an ingest key was refused"
    assert_quiet(outcome)
    await watching[0]
    print(f"snapshot back in Redis {snapshot_back_at[0] - outcome.restored_at:.1f}s after restore")
    # and a rule made now reaches the evaluators
    client = f"faults-{pipeline.settings.topics.alerts_new}"
    body = {"client_id": client, "severity": "LOW", "source": "after", "name": "*"}
    await pipeline.api("POST", "/api/v1/rules", json=body)
    await pipeline.wait_rules_live(2)


async def test_broker_unreachable_for_20s(faulty: Faulty, unique: str) -> None:
    proxy = faulty.servers.proxy
    outcome = await run_through(faulty, unique, proxy.cut, proxy.restore)
    assert set(outcome.posting.statuses) <= {202, 503}
    # The cut was felt: ingest could not publish while it lasted (a cut that did nothing
    # would pass everything else).
    assert outcome.posting.statuses[503] > 0, "ingest never answered 503 during the cut"
    assert len(outcome.posting.retried_after) == outcome.posting.statuses[503]
    assert_quiet(outcome)
