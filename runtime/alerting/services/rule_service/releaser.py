"""Suppressed notifications go out when their silence no longer mutes them.

A firing notification muted by a silence is stored SUPPRESSED (the aggregator). When the
silence ends, is expired, or is a window now between its ranges, this loop (in
rule-service, next to the purge) takes its suppressed rows in batches: a row whose
episode was resolved meanwhile stays SUPPRESSED (never sent; it is settled, so it is not
read again); a row another active silence of the client mutes stays SUPPRESSED under
that silence; every other row becomes PENDING and due now, so the sender's poller
delivers it. Each batch is one short transaction that locks its rows (``SKIP LOCKED``)
and then writes the decisions in a fresh statement, which settles instead any row whose
episode is resolved by then: so it serialises with the aggregator writing the episode's
resolved row (``repo/release.py``). The clock is injected: the domain decides with the
``now`` it is given. A stored silence the domain refuses (one that no longer validates)
mutes nothing, as in the evaluators' snapshot, and its own rows are left as they are:
it is logged, and every other silence and tenant is released as usual.

What starts a release is time (an end, an expiry, a window's range), not a change of
matchers: rows a silence muted before a PATCH narrowed it stay muted until it is over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
from prometheus_client import Counter

from alerting.aio import run_every
from alerting.domain.silences import AlertFields, Silence, SilenceIndex
from alerting.services.rule_service.repo import release as repo
from alerting.services.rule_service.repo import silences as silences_repo
from alerting.services.rule_service.repo.sql import Conn

log = logging.getLogger(__name__)

# Silences looked at per page of a pass, and active silences read per batch's clients
# (a bound on memory; reaching it is logged, as the silences past it mute nothing then).
SILENCES_PER_PASS = 1000
ACTIVE_PER_BATCH = 100_000

DECIDED = Counter(
    "alerting_silence_release_total",
    "Suppressed notifications whose silence stopped muting them, by what became of them",
    ["outcome"],
)
OUTCOMES = {repo.RELEASE: "released", repo.KEEP: "still_muted", repo.SETTLE: "settled"}


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Released:
    released: int = 0
    kept: int = 0
    settled: int = 0


class SilenceReleaser:
    def __init__(
        self,
        pool: asyncpg.Pool[Any],
        interval_s: float,
        *,
        batch_size: int = 500,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._pool = pool
        self._interval_s = interval_s
        self._batch_size = batch_size
        self._clock = clock

    async def release_pass(self) -> Released:
        """One look at every silence holding unsettled suppressed rows (a page of
        ``SILENCES_PER_PASS`` at a time); the rows of those no longer active are
        decided, batch by batch."""
        now = self._clock()
        done = Released()
        after = repo.FIRST
        while True:
            ids = await repo.candidates(self._pool, after, SILENCES_PER_PASS)
            if ids:
                await self._release(ids, now, done)
            if len(ids) < SILENCES_PER_PASS:
                return done
            after = ids[-1]

    async def _release(self, ids: Sequence[UUID], now: datetime, done: Released) -> None:
        rows = await silences_repo.by_ids(self._pool, ids)
        # None: stored, but refused by the domain (its rows wait until it reads again).
        known = {r["silence_id"]: silences_repo.readable(r) for r in rows}
        # A silence that is gone went with its client (deleted): its rows are only
        # settled, and purged with the client's other rows.
        inactive = [i for i in ids if i not in known or _inactive(known[i], now)]
        while inactive:
            taken, moved = await self._batch(inactive, known.keys(), now, done)
            # A batch that moved no row out of these silences would be taken again: a
            # silence active again since the pass began keeps its rows under itself.
            if taken < self._batch_size or not moved:
                return

    async def _batch(
        self,
        silence_ids: Sequence[UUID],
        known: Collection[UUID],
        now: datetime,
        done: Released,
    ) -> tuple[int, int]:
        """Decide one batch: the rows taken, and how many of them left ``silence_ids``."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await repo.lock_batch(conn, silence_ids, self._batch_size)
            if not rows:
                return 0, 0
            open_rows = [r for r in rows if _open(r, known)]
            clients = sorted({r["client_id"] for r in open_rows})
            index = await self._active_index(conn, clients, now)
            decisions = [_decide(r, _open(r, known), index, now) for r in rows]
            written = await repo.apply(conn, decisions)
        waiting = set(silence_ids)
        moved = 0
        for r in written:
            action = r["action"]
            DECIDED.labels(OUTCOMES[action]).inc()
            if action == repo.RELEASE:
                done.released += 1
            elif action == repo.KEEP:
                done.kept += 1
            else:
                done.settled += 1
            moved += action != repo.KEEP or r["silence_id"] not in waiting
        return len(rows), moved

    async def _active_index(
        self, conn: Conn, clients: Sequence[str], now: datetime
    ) -> SilenceIndex:
        if not clients:
            return SilenceIndex()
        active = await silences_repo.active(conn, clients, now, ACTIVE_PER_BATCH)
        if len(active) >= ACTIVE_PER_BATCH:
            log.warning(
                "the %d clients of a release batch have %d or more active silences: only"
                " the first %d are checked, so a row only a later one mutes is released",
                len(clients), ACTIVE_PER_BATCH, ACTIVE_PER_BATCH,
            )  # fmt: skip
        return SilenceIndex(s for s in map(silences_repo.readable, active) if s is not None)

    async def run(self, stop: asyncio.Event) -> None:
        """A pass every ``interval_s`` until ``stop``; an unreachable database is one
        log line per state change, and the next pass resumes."""
        await run_every(
            self.release_pass,
            stop,
            self._interval_s,
            "releasing suppressed notifications (Postgres)",
            log,
        )


def _inactive(silence: Silence | None, now: datetime) -> bool:
    return silence is not None and not silence.active_at(now)


def _open(row: asyncpg.Record, known: Collection[UUID]) -> bool:
    """Still to deliver if nothing else mutes it: its episode is not resolved, and its
    silence exists (one that is gone went with its deleted client, whose rows are
    purged, never sent)."""
    return not row["resolved"] and row["silence_id"] in known


def _decide(
    row: asyncpg.Record, is_open: bool, index: SilenceIndex, now: datetime
) -> tuple[UUID, str, UUID | None]:
    if not is_open:
        return row["notification_id"], repo.SETTLE, None
    context = row["context"] or {}
    alert = AlertFields(row["severity"], row["source"], row["name"], lambda: context)
    muting = index.muting(row["client_id"], alert, now)
    if muting:
        return row["notification_id"], repo.KEEP, UUID(muting[0])
    return row["notification_id"], repo.RELEASE, None
