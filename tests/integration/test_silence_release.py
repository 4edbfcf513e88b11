"""The release of suppressed notifications over real Postgres: an ended silence's open
episodes become PENDING and due; resolved episodes stay SUPPRESSED; rows another active
silence mutes stay SUPPRESSED under it; a window releases outside its ranges (clock
injected); a row the aggregator holds is skipped, not waited for. Rows are written with
SQL, as the aggregator writes them. Each test has its own database: a pass looks at
every tenant's rows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from alerting.config import Settings
from alerting.services.rule_service import releaser as releaser_module
from alerting.services.rule_service.releaser import Released, SilenceReleaser
from alerting.services.rule_service.repo import release as release_repo
from tests.integration.rule_service_support import database_of_its_own
from tests.pipeline_support import eventually

pytestmark = pytest.mark.integration
DB = [{"name": "source", "op": "=", "value": "db"}]
PROD = [{"name": "context.env", "op": "=", "value": "prod"}]


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool[Any]]:
    async with database_of_its_own(settings) as own:
        yield own


async def client(pool: asyncpg.Pool[Any]) -> str:
    client_id = f"rel-{uuid.uuid4().hex[:8]}"
    await pool.execute("INSERT INTO clients (client_id, name) VALUES ($1, 'r')", client_id)
    return client_id


async def silence(
    pool: asyncpg.Pool[Any],
    client_id: str,
    matchers: list[dict[str, str]],
    starts_at: datetime,
    ends_at: datetime | None,
    window: tuple[str, list[dict[str, Any]]] | None = None,
) -> uuid.UUID:
    silence_id = uuid.uuid4()
    zone, weekly = window if window is not None else (None, None)
    await pool.execute(
        "INSERT INTO silences (silence_id, client_id, matchers, starts_at, ends_at, time_zone,"
        " weekly, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, 'admin')",
        silence_id, client_id, matchers, starts_at, ends_at, zone, weekly,
    )  # fmt: skip
    return silence_id


async def row(
    pool: asyncpg.Pool[Any],
    client_id: str,
    silence_id: uuid.UUID,
    *,
    context: dict[str, str] | None = None,
    firing_id: uuid.UUID | None = None,
    alert_id: str | None = None,
) -> uuid.UUID:
    """A SUPPRESSED notification: a firing row, or the resolved row of ``firing_id``."""
    notification_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO notifications (notification_id, client_id, alert_id, severity, source,"
        " name, context, event_ts, rule_ids, status, kind, episode, firing_id, silence_id)"
        " VALUES ($1, $2, $3, 'HIGH', 'db', 'down', $4, now(), ARRAY[]::uuid[], 'SUPPRESSED',"
        " $5, 1, $6, $7)",
        notification_id, client_id, alert_id or f"a-{notification_id}", context or {},
        "firing" if firing_id is None else "resolved", firing_id, silence_id,
    )  # fmt: skip
    return notification_id


async def state(pool: asyncpg.Pool[Any], notification_id: uuid.UUID) -> dict[str, Any]:
    found = await pool.fetchrow(
        "SELECT status, silence_id, next_attempt_at <= now() AS due,"
        " suppression_settled_at IS NOT NULL AS settled FROM notifications"
        " WHERE notification_id = $1",
        notification_id,
    )
    assert found is not None
    return dict(found)


def releaser(pool: asyncpg.Pool[Any], at: datetime | None = None) -> SilenceReleaser:
    """Batches of two (so a pass runs several); ``at``: the clock stands still there."""
    if at is None:
        return SilenceReleaser(pool, 1, batch_size=2)
    return SilenceReleaser(pool, 1, batch_size=2, clock=lambda: at)


async def test_an_ended_silence_releases_its_open_episodes_only(pool: asyncpg.Pool[Any]) -> None:
    now = datetime.now(UTC)
    cid, other = await client(pool), await client(pool)
    ended = await silence(pool, cid, DB, now - timedelta(hours=2), now - timedelta(minutes=1))
    prod = await silence(pool, cid, PROD, now - timedelta(hours=1), now + timedelta(hours=1))
    theirs = await silence(pool, other, DB, now - timedelta(hours=1), now + timedelta(hours=1))
    open_rows = [await row(pool, cid, ended) for _ in range(3)]
    resolved = await row(pool, cid, ended, alert_id="flapped")
    resolved_row = await row(pool, cid, ended, firing_id=resolved, alert_id="flapped")
    still = await row(pool, cid, ended, context={"env": "prod"})
    their_row = await row(pool, other, theirs)
    orphan = await row(pool, cid, uuid.uuid4())  # its silence went with a deleted client

    done = await releaser(pool).release_pass()
    assert done == Released(released=3, kept=1, settled=2)
    for notification_id in open_rows:
        assert await state(pool, notification_id) == {
            "status": "PENDING", "silence_id": ended, "due": True, "settled": False
        }  # fmt: skip
    assert await state(pool, resolved) == {
        "status": "SUPPRESSED", "silence_id": ended, "due": None, "settled": True
    }  # fmt: skip
    assert (await state(pool, resolved_row))["status"] == "SUPPRESSED"
    kept = await state(pool, still)
    assert kept["status"] == "SUPPRESSED" and kept["silence_id"] == prod and not kept["settled"]
    assert (await state(pool, their_row))["status"] == "SUPPRESSED"
    assert (await state(pool, orphan))["settled"] is True

    # Nothing is left to decide: a second pass reads no row.
    assert await releaser(pool).release_pass() == Released()

    # The other silence expires too: the row it kept goes out.
    await pool.execute("UPDATE silences SET ends_at = now() WHERE silence_id = $1", prod)
    assert await releaser(pool).release_pass() == Released(released=1)
    assert (await state(pool, still))["status"] == "PENDING"


# Mondays 02:00-04:00 in Paris (UTC+1 in January): 01:00-03:00 UTC.
PARIS_NIGHT = ("Europe/Paris", [{"days": [0], "start_minute": 120, "end_minute": 240}])
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)


async def test_a_window_releases_outside_its_ranges(pool: asyncpg.Pool[Any]) -> None:
    cid = await client(pool)
    window = await silence(pool, cid, DB, datetime(2025, 1, 1, tzinfo=UTC), None, PARIS_NIGHT)
    muted = await row(pool, cid, window)
    inside = MONDAY + timedelta(hours=2)  # 03:00 in Paris
    assert await releaser(pool, inside).release_pass() == Released()
    assert (await state(pool, muted))["status"] == "SUPPRESSED"
    after = MONDAY + timedelta(hours=4)  # 05:00 in Paris
    assert await releaser(pool, after).release_pass() == Released(released=1)
    assert (await state(pool, muted))["status"] == "PENDING"

    # Another window of the client covering the moment keeps a row muted, under its id.
    always = ("UTC", [{"days": list(range(7)), "start_minute": 0, "end_minute": 1440}])
    other = await silence(pool, cid, DB, datetime(2025, 1, 1, tzinfo=UTC), None, always)
    second = await row(pool, cid, window)
    assert await releaser(pool, after).release_pass() == Released(kept=1)
    assert (await state(pool, second))["silence_id"] == other


async def test_a_row_the_aggregator_holds_is_skipped_then_settled(pool: asyncpg.Pool[Any]) -> None:
    now = datetime.now(UTC)
    cid = await client(pool)
    ended = await silence(pool, cid, DB, now - timedelta(hours=2), now - timedelta(minutes=1))
    firing = await row(pool, cid, ended, alert_id="x")
    async with pool.acquire() as conn, conn.transaction():
        # What the aggregator does while it writes the episode's resolved row.
        await conn.execute(
            "SELECT 1 FROM notifications WHERE notification_id = $1 FOR SHARE", firing
        )
        done = await asyncio.wait_for(releaser(pool).release_pass(), 10)
        assert done == Released()
        await conn.execute(
            "INSERT INTO notifications (notification_id, client_id, alert_id, severity, source,"
            " name, event_ts, rule_ids, status, kind, episode, firing_id, silence_id)"
            " VALUES ($1, $2, 'x', 'HIGH', 'db', 'down', now(), ARRAY[]::uuid[], 'SUPPRESSED',"
            " 'resolved', 1, $3, $4)",
            uuid.uuid4(), cid, firing, ended,
        )  # fmt: skip
    assert await releaser(pool).release_pass() == Released(settled=1)
    assert (await state(pool, firing))["status"] == "SUPPRESSED"


async def test_the_loop_releases_in_the_background(pool: asyncpg.Pool[Any]) -> None:
    now = datetime.now(UTC)
    cid = await client(pool)
    ending = await silence(pool, cid, DB, now - timedelta(hours=1), now + timedelta(seconds=1))
    muted = await row(pool, cid, ending)
    stop = asyncio.Event()
    task = asyncio.create_task(SilenceReleaser(pool, 1).run(stop))
    try:

        async def released() -> bool:
            return (await state(pool, muted))["status"] == "PENDING"

        await eventually(released)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert (await state(pool, muted))["silence_id"] == ending


async def test_a_pass_pages_through_every_silence(
    pool: asyncpg.Pool[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(releaser_module, "SILENCES_PER_PASS", 2)
    now = datetime.now(UTC)
    cid = await client(pool)
    hour = timedelta(hours=1)
    for _ in range(3):  # active ones take room in the pages too
        await row(pool, cid, await silence(pool, cid, PROD, now - hour, now + hour))
    ended = [await silence(pool, cid, DB, now - hour, now - timedelta(minutes=1)) for _ in range(5)]
    rows = [await row(pool, cid, s) for s in ended]
    assert await releaser(pool).release_pass() == Released(released=5)
    assert {(await state(pool, r))["status"] for r in rows} == {"PENDING"}


async def test_an_episode_resolved_after_the_batch_read_is_settled_not_released(
    pool: asyncpg.Pool[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The aggregator commits the resolved row after LOCK_BATCH's snapshot but before its
    lock (it held only a share lock): the batch read "not resolved", yet the firing row of
    a closed episode must not go out."""
    now = datetime.now(UTC)
    cid = await client(pool)
    ended = await silence(pool, cid, DB, now - timedelta(hours=2), now - timedelta(minutes=1))
    firing = await row(pool, cid, ended, alert_id="late")
    lock_batch = release_repo.lock_batch

    async def resolved_meanwhile(conn: Any, ids: Any, limit: int) -> list[Any]:
        rows = await lock_batch(conn, ids, limit)
        assert [r["resolved"] for r in rows] == [False]
        await row(pool, cid, ended, firing_id=firing, alert_id="late")  # committed apart
        return rows

    monkeypatch.setattr(release_repo, "lock_batch", resolved_meanwhile)
    assert await releaser(pool).release_pass() == Released(settled=1)
    assert await state(pool, firing) == {
        "status": "SUPPRESSED", "silence_id": ended, "due": None, "settled": True
    }  # fmt: skip


async def test_a_silence_active_again_during_a_pass_does_not_loop_it(
    pool: asyncpg.Pool[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read inactive when the pass began, extended before its rows are decided: the rows
    stay under it (still muted), and the pass ends instead of taking them again."""
    now = datetime.now(UTC)
    cid = await client(pool)
    ending = await silence(pool, cid, DB, now - timedelta(hours=2), now - timedelta(minutes=1))
    muted = [await row(pool, cid, ending) for _ in range(3)]
    lock_batch = release_repo.lock_batch

    async def extended_meanwhile(conn: Any, ids: Any, limit: int) -> list[Any]:
        await pool.execute(
            "UPDATE silences SET ends_at = now() + interval '1 hour' WHERE silence_id = $1",
            ending,
        )
        return await lock_batch(conn, ids, limit)

    monkeypatch.setattr(release_repo, "lock_batch", extended_meanwhile)
    done = await asyncio.wait_for(releaser(pool).release_pass(), 10)
    assert done.released == 0 and done.kept >= 2
    for notification_id in muted:
        assert await state(pool, notification_id) == {
            "status": "SUPPRESSED", "silence_id": ending, "due": None, "settled": False
        }  # fmt: skip


async def test_a_silence_the_domain_refuses_fails_no_other(pool: asyncpg.Pool[Any]) -> None:
    """A stored silence that no longer validates mutes nothing and its own rows wait;
    every other silence, of this tenant and others, is released as usual."""
    now = datetime.now(UTC)
    cid, other = await client(pool), await client(pool)
    broken = [{"name": "source", "op": "=~", "value": "(unclosed"}]
    hour = timedelta(hours=1)
    await silence(pool, cid, broken, now - hour, now + hour)  # active, would mute "db"
    bad_ended = await silence(pool, other, broken, now - 2 * hour, now - timedelta(minutes=1))
    waiting = await row(pool, other, bad_ended)
    ended = await silence(pool, cid, DB, now - 2 * hour, now - timedelta(minutes=1))
    theirs = await silence(pool, other, DB, now - 2 * hour, now - timedelta(minutes=1))
    mine, their_row = await row(pool, cid, ended), await row(pool, other, theirs)

    assert await releaser(pool).release_pass() == Released(released=2)
    assert (await state(pool, mine))["status"] == "PENDING"
    assert (await state(pool, their_row))["status"] == "PENDING"
    assert await state(pool, waiting) == {
        "status": "SUPPRESSED", "silence_id": bad_ended, "due": None, "settled": False
    }  # fmt: skip


async def test_reaching_the_cap_on_active_silences_is_logged(
    pool: asyncpg.Pool[Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(releaser_module, "ACTIVE_PER_BATCH", 1)
    now = datetime.now(UTC)
    cid = await client(pool)
    ended = await silence(pool, cid, DB, now - timedelta(hours=2), now - timedelta(minutes=1))
    for _ in range(2):
        await silence(pool, cid, PROD, now - timedelta(hours=1), now + timedelta(hours=1))
    await row(pool, cid, ended)
    await releaser(pool).release_pass()
    assert "only the first 1 are checked" in caplog.text
