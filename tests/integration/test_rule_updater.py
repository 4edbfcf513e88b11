"""SnapshotUpdater against real Postgres and Redis: equal to Postgres, even when racing."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from alerting.adapters import postgres
from alerting.adapters.redis import Keys
from alerting.codec import decode_snapshot
from alerting.config import Settings
from alerting.domain import liveness
from alerting.domain.model import MatchingRule
from alerting.services.evaluator.live_rules import LiveRules
from alerting.services.rule_updater.snapshot import SnapshotState
from alerting.services.rule_updater.store import SnapshotStore
from alerting.services.rule_updater.updater import RECONCILED_AT, SnapshotUpdater

pytestmark = pytest.mark.integration
SEVERITIES = ["LOW", "MEDIUM", "HIGH", "CRITICAL", "*"]


@pytest.fixture
def own_settings(settings: Settings, own_database: str) -> Settings:
    return dataclasses.replace(settings, postgres_dsn=own_database)


@pytest.fixture
async def env(own_settings: Settings, unique: str) -> AsyncIterator[dict[str, Any]]:
    settings = own_settings
    pool = await postgres.create_pool(settings)
    client = aioredis.Redis.from_url(settings.redis_url)
    keys = Keys(f"{settings.redis_key_prefix}{unique}:")
    client_id = f"upd-{unique}"
    await pool.execute("INSERT INTO clients (client_id, name) VALUES ($1, 'x')", client_id)
    try:
        yield {"pool": pool, "redis": client, "keys": keys, "client_id": client_id}
    finally:
        await pool.execute("DELETE FROM clients WHERE client_id = $1", client_id)
        await client.delete(keys.snapshot, keys.version, keys.decisions, keys.applied, keys.rebuilt)
        await client.aclose()
        await pool.close()


def updater(env: dict[str, Any], clock_ms: Callable[[], int] | None = None) -> SnapshotUpdater:
    store = SnapshotStore(env["redis"], env["keys"], *([clock_ms] if clock_ms else []))
    return SnapshotUpdater(env["pool"], store, env["keys"])


async def enabled_in_postgres(pool: asyncpg.Pool[Any], client_id: str) -> dict[str, MatchingRule]:
    rows = await pool.fetch(
        "SELECT rule_id::text AS rule_id, client_id, severity, source, name FROM rules"
        " WHERE enabled AND client_id = $1",
        client_id,
    )
    return {r["rule_id"]: MatchingRule(**dict(r)) for r in rows}


async def in_redis(env: dict[str, Any]) -> tuple[int, dict[str, MatchingRule]]:
    data, raw_version = await env["redis"].mget(env["keys"].snapshot, env["keys"].version)
    version = int(raw_version)
    snapshot = decode_snapshot(data)
    assert snapshot.version == version, "snapshot and version are written together"
    return version, {r.rule_id: r for r in snapshot.rules}


async def random_operation(pool: asyncpg.Pool[Any], client_id: str, rng: random.Random) -> str:
    """Create, update, enable/disable or delete a rule; return the rule id touched."""
    ids = [
        r["rule_id"]
        for r in await pool.fetch(
            "SELECT rule_id::text AS rule_id FROM rules WHERE client_id = $1", client_id
        )
    ]
    op = rng.choice(["create", "create", "update", "toggle", "delete"]) if ids else "create"
    if op == "create":
        rule_id = str(uuid.uuid4())
        await pool.execute(
            "INSERT INTO rules (rule_id, client_id, severity, source, name) VALUES"
            " ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            rule_id,
            client_id,
            rng.choice(SEVERITIES[:-1]),
            f"src{rng.randrange(50)}",
            rng.choice(["*", f"name{rng.randrange(50)}"]),
        )
        return rule_id
    rule_id = rng.choice(ids)
    if op == "update":
        await pool.execute(
            "UPDATE rules SET source = $2, version = version + 1 WHERE rule_id = $1"
            " AND NOT EXISTS (SELECT 1 FROM rules r2 WHERE r2.client_id = rules.client_id"
            " AND r2.severity = rules.severity AND r2.source = $2 AND r2.name = rules.name)",
            rule_id,
            f"src{rng.randrange(1000)}",
        )
    elif op == "toggle":
        await pool.execute("UPDATE rules SET enabled = NOT enabled WHERE rule_id = $1", rule_id)
    else:
        await pool.execute("DELETE FROM rules WHERE rule_id = $1", rule_id)
    return rule_id


async def test_reconcile_builds_the_snapshot_and_rebuilds_it_when_deleted(
    env: dict[str, Any],
) -> None:
    rng = random.Random(1)
    for _ in range(40):
        await random_operation(env["pool"], env["client_id"], rng)
    up = updater(env, clock_ms=lambda: 1_700_000_000_000)
    assert await up.reconcile() == 1_700_000_000_000, "an empty Redis starts at the clock"
    version, rules = await in_redis(env)
    assert rules == await enabled_in_postgres(env["pool"], env["client_id"])
    assert await up.reconcile() is None, "no drift: nothing rewritten"

    await env["redis"].delete(env["keys"].snapshot)
    assert await up.reconcile() == version + 1
    _, rules = await in_redis(env)
    assert rules == await enabled_in_postgres(env["pool"], env["client_id"])


async def test_every_reconcile_sets_the_staleness_clock_even_without_a_change(
    env: dict[str, Any],
) -> None:
    """The staleness alert (deploy/prometheus/alerts.yml) reads this gauge: a reconcile
    that finds nothing to rewrite still proves the snapshot current."""
    up = updater(env)
    await up.reconcile()
    RECONCILED_AT.set(0)
    before = time.time()
    assert await up.reconcile() is None
    reconciled_at = REGISTRY.get_sample_value("alerting_snapshot_reconciled_timestamp_seconds")
    assert reconciled_at is not None
    assert before <= reconciled_at <= time.time()


async def test_changes_applied_one_by_one_keep_the_snapshot_equal_to_postgres(
    env: dict[str, Any],
) -> None:
    rng = random.Random(2)
    up = updater(env)
    await up.reconcile()
    versions = []
    for _ in range(300):
        rule_id = await random_operation(env["pool"], env["client_id"], rng)
        written = await up.apply_changes([rule_id])
        if written is not None:
            versions.append(written)
    _, rules = await in_redis(env)
    assert rules == await enabled_in_postgres(env["pool"], env["client_id"])
    assert versions == sorted(versions) and len(set(versions)) == len(versions)


async def test_two_updaters_racing_never_disagree_with_postgres_or_go_backwards(
    env: dict[str, Any], own_settings: Settings
) -> None:
    # Each updater has its own pool, as two processes would.
    other_pool = await postgres.create_pool(own_settings)
    try:
        first = updater(env)
        second = SnapshotUpdater(other_pool, SnapshotStore(env["redis"], env["keys"]), env["keys"])
        await first.reconcile()
        seen_versions: list[int] = []
        stop = asyncio.Event()

        async def watch_versions() -> None:
            while not stop.is_set():
                raw = await env["redis"].get(env["keys"].version)
                seen_versions.append(int(raw))
                await asyncio.sleep(0.001)

        async def worker(up: SnapshotUpdater, seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(150):
                rule_id = await random_operation(env["pool"], env["client_id"], rng)
                # Each change is applied by *either* updater, as a partitioned group would.
                await rng.choice([first, second]).apply_changes([rule_id])

        watcher = asyncio.create_task(watch_versions())
        await asyncio.gather(worker(first, 3), worker(second, 4), worker(first, 5))
        stop.set()
        await watcher
    finally:
        await other_pool.close()
    _, rules = await in_redis(env)
    assert rules == await enabled_in_postgres(env["pool"], env["client_id"])
    assert seen_versions == sorted(seen_versions), "the version never moved backwards"


class PausedAfterReading(SnapshotUpdater):
    """Holds on to its first Postgres read, as a descheduled or slow updater would."""

    def __init__(self, env: dict[str, Any]) -> None:
        super().__init__(env["pool"], SnapshotStore(env["redis"], env["keys"]), env["keys"])
        self.has_read = asyncio.Event()
        self.resume = asyncio.Event()

    async def _enabled_rules(self) -> list[MatchingRule]:
        rules = await super()._enabled_rules()
        if not self.has_read.is_set():
            self.has_read.set()
            await self.resume.wait()
        return rules


async def test_a_stale_read_cannot_land_after_another_updater_decided_no_change(
    env: dict[str, Any],
) -> None:
    """A reconcile reads a rule, the rule is deleted and an apply finds nothing to do;
    the reconcile must not then write the deleted rule back."""
    first = updater(env)
    await first.reconcile()
    rule_id = await insert_rule(env, "db")
    slow = PausedAfterReading(env)
    reconciling = asyncio.create_task(slow.reconcile())
    await asyncio.wait_for(slow.has_read.wait(), 10)

    await env["pool"].execute("DELETE FROM rules WHERE rule_id = $1", rule_id)
    assert await first.apply_changes([rule_id]) is None, "the rule was never in the snapshot"
    slow.resume.set()
    await asyncio.wait_for(reconciling, 10)

    _, rules = await in_redis(env)
    assert rule_id not in rules
    assert rules == await enabled_in_postgres(env["pool"], env["client_id"])


async def insert_rule(env: dict[str, Any], source: str) -> str:
    rule_id = str(uuid.uuid4())
    await env["pool"].execute(
        "INSERT INTO rules (rule_id, client_id, severity, source, name)"
        " VALUES ($1, $2, 'HIGH', $3, '*')",
        rule_id,
        env["client_id"],
        source,
    )
    return rule_id


async def wipe_redis_and_change_the_rules(env: dict[str, Any]) -> str:
    """Redis loses the session's keys (a restart without persistence) while the evaluator
    keeps its rules; then the rules change in Postgres. Returns the new rule's id."""
    await env["redis"].delete(env["keys"].snapshot, env["keys"].version, env["keys"].decisions)
    await env["pool"].execute("DELETE FROM rules WHERE client_id = $1", env["client_id"])
    return await insert_rule(env, "after-the-wipe")


def matched_rule_ids(live: LiveRules, source: str) -> set[str]:
    """The rules the evaluator's matcher answers with for a HIGH alert from ``source``."""
    assert live.matcher is not None
    found = live.matcher.index.match("HIGH", source, "disk_full")
    return {rule_id for rule_ids in found.values() for rule_id in rule_ids}


@pytest.mark.parametrize("restarted", [False, True], ids=["same-updater", "restarted-updater"])
async def test_a_snapshot_rebuilt_after_redis_lost_its_data_reaches_the_evaluators(
    env: dict[str, Any], restarted: bool
) -> None:
    """The rebuilt snapshot must not reuse a version an evaluator holds with other rules:
    the evaluator reloads only when the version differs, so it would keep matching the
    old rules until the next change (the updater may itself have restarted meanwhile)."""
    before = await insert_rule(env, "before-the-wipe")
    up = updater(env)
    held = await up.reconcile()
    live = LiveRules(env["redis"], env["keys"])
    assert await live.refresh() and live.version == held
    assert matched_rule_ids(live, "before-the-wipe") == {before}

    added = await wipe_redis_and_change_the_rules(env)
    rebuilt = await (updater(env) if restarted else up).reconcile()

    assert await live.refresh(), "the evaluator must load the rebuilt snapshot"
    assert rebuilt is not None and rebuilt > held, "versions stay monotonic across the wipe"
    assert live.version == rebuilt
    assert matched_rule_ids(live, "after-the-wipe") == {added}
    assert matched_rule_ids(live, "before-the-wipe") == set(), "the old rules are gone"


async def test_after_a_wipe_the_updater_continues_above_its_own_versions_whatever_the_clock(
    env: dict[str, Any],
) -> None:
    """The writer's memory alone keeps the rebuilt version new, even with a clock stuck
    far behind the versions already written."""
    await insert_rule(env, "before-the-wipe")
    up = updater(env, clock_ms=lambda: 5)
    for i in range(3):
        await insert_rule(env, f"more-{i}")
        await up.reconcile()
    live = LiveRules(env["redis"], env["keys"])
    assert await live.refresh() and live.version == 7

    added = await wipe_redis_and_change_the_rules(env)
    assert await up.reconcile() == 8
    assert await live.refresh() and matched_rule_ids(live, "after-the-wipe") == {added}


async def insert_silence(
    env: dict[str, Any], ends_in: str | None = "1 hour", starts_in: str = "-1 minute"
) -> str:
    """A silence row as rule-service writes it (``ends_in`` None: a weekly window)."""
    silence_id = str(uuid.uuid4())
    window = ends_in is None
    await env["pool"].execute(
        "INSERT INTO silences (silence_id, client_id, matchers, starts_at, ends_at,"
        " time_zone, weekly, created_by)"
        " VALUES ($1, $2, $3, now() + $4::text::interval, now() + $5::text::interval,"
        " $6, $7, 'admin')",
        silence_id,
        env["client_id"],
        [{"name": "source", "op": "=", "value": "db"}],
        starts_in,
        ends_in,
        "Europe/Paris" if window else None,
        [{"days": [0, 6], "start_minute": 60, "end_minute": 120}] if window else None,
    )
    return silence_id


async def silences_in_redis(env: dict[str, Any]) -> dict[str, int]:
    """The snapshot's silences: id -> version."""
    data = await env["redis"].get(env["keys"].snapshot)
    return {s.silence_id: s.version for s in SnapshotState.parse(data).silences().values()}


async def test_silences_not_over_are_in_the_snapshot_and_follow_their_changes(
    env: dict[str, Any],
) -> None:
    active = await insert_silence(env)
    pending = await insert_silence(env, ends_in="2 hours", starts_in="1 hour")
    window = await insert_silence(env, ends_in=None)
    await insert_silence(env, ends_in="-1 minute", starts_in="-1 hour")  # over: left out
    up = updater(env)
    await up.reconcile()
    assert await silences_in_redis(env) == {active: 1, pending: 1, window: 1}
    live = LiveRules(env["redis"], env["keys"])
    assert await live.refresh() and live.matcher is not None
    assert len(live.matcher.silences) == 3
    assert {
        s.silence_id for s in decode_snapshot(await env["redis"].get(env["keys"].snapshot)).silences
    } == {active, pending, window}, "every entry decodes for the evaluators"

    await env["pool"].execute(
        "UPDATE silences SET matchers = $2, version = 2 WHERE silence_id = $1",
        active,
        [{"name": "name", "op": "=~", "value": "disk_.*"}],
    )
    assert await up.apply_changes([], [active]) is not None
    assert (await silences_in_redis(env))[active] == 2
    assert await up.apply_changes([], [active]) is None, "a replayed change is no change"

    # DELETE in the API expires the silence now: it leaves the snapshot with its change.
    await env["pool"].execute(
        "UPDATE silences SET ends_at = now(), expired_at = now(), version = 3"
        " WHERE silence_id = $1",
        active,
    )
    gone = str(uuid.uuid4())  # a change for a silence Postgres never had
    expired_in = await up.apply_changes([], [active, gone])
    assert expired_in is not None
    assert await silences_in_redis(env) == {pending: 1, window: 1}
    # Its liveness record names its real version (an expired silence is live once no
    # evaluator holds it), and the never-seen one is gone (0).
    assert await applied(env, active) == (3, expired_in)
    assert await applied(env, gone) == (0, expired_in)
    assert await up.reconcile() is None, "the changes left it equal to Postgres"


async def test_a_silence_that_ends_is_dropped_by_the_next_reconcile(
    env: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    rule_id = await insert_rule(env, "db")
    ending = await insert_silence(env, ends_in="300 milliseconds")
    staying = await insert_silence(env)
    up = updater(env)
    written = await up.reconcile()
    assert await silences_in_redis(env) == {ending: 1, staying: 1}
    await asyncio.sleep(0.5)
    dropped = await up.reconcile()
    assert dropped is not None and written is not None and dropped > written
    assert await silences_in_redis(env) == {staying: 1}
    _, rules = await in_redis(env)
    assert set(rules) == {rule_id}, "the rules are kept as they were"
    assert "drifted" not in caplog.text, "an ended silence is not drift"


# Liveness records (rule_updater/applied.py): written in the MULTI of the snapshot that
# carries the change.


async def applied(env: dict[str, Any], rule_id: str) -> tuple[int, int] | None:
    return liveness.parse_pair(await env["redis"].hget(env["keys"].applied, rule_id))


async def rebuilt(env: dict[str, Any]) -> tuple[int, int] | None:
    return liveness.parse_pair(await env["redis"].get(env["keys"].rebuilt))


async def test_each_applied_change_names_the_snapshot_carrying_it(env: dict[str, Any]) -> None:
    up = updater(env)
    first = await up.reconcile()
    assert first is not None
    read = await rebuilt(env)
    assert read is not None and read[1] == first, "a full read names its snapshot"

    rule_id = await insert_rule(env, "db")
    written = await up.apply_changes([rule_id])
    assert written == first + 1
    assert await applied(env, rule_id) == (1, written)

    # A replay changes nothing in the snapshot and still answers for the rule.
    assert await up.apply_changes([rule_id]) is None
    assert await applied(env, rule_id) == (1, written)

    await env["pool"].execute(
        "UPDATE rules SET enabled = false, version = 2 WHERE rule_id = $1", rule_id
    )
    disabled = await up.apply_changes([rule_id])
    assert disabled == written + 1 and await applied(env, rule_id) == (2, disabled)
    assert rule_id not in (await in_redis(env))[1]


async def test_a_reconcile_records_its_read_and_prunes_records_of_gone_rules(
    env: dict[str, Any],
) -> None:
    up = updater(env)
    kept, gone = await insert_rule(env, "kept"), await insert_rule(env, "gone")
    await up.reconcile()
    await up.apply_changes([kept, gone])
    await env["pool"].execute("DELETE FROM rules WHERE rule_id = $1", gone)
    removed = await up.apply_changes([gone])
    assert await applied(env, gone) == (0, removed)

    before = await rebuilt(env)
    assert await up.reconcile() is None, "nothing drifted"
    after = await rebuilt(env)
    assert before is not None and after is not None
    assert after[0] >= before[0] and after[1] == removed, "the read is recorded anyway"
    assert await applied(env, gone) is None
    assert await applied(env, kept) is not None
