"""The Redis side: read and compare-and-set the snapshot and its version together.

Writers WATCH `rules:version`, then read what they need (Postgres included), then write
snapshot + version + announcement in one MULTI/EXEC. If any other writer got in between,
EXEC fails and the caller starts over from fresh reads, so two rule-updaters can never
interleave into a snapshot that disagrees with Postgres, and the version only grows.

A "no change" decision is a commit too: it bumps `rules:decisions` (also watched).
Without that, a writer holding an older Postgres read could commit after another one
saw the newer row and wrote nothing: a rule created, read by a reconcile, deleted and
found absent by an apply, would come back with the reconcile's write and stay in the
snapshot until the next reconcile. Evaluators only follow `rules:version`, so these
bumps cost them nothing.

Versions must also survive Redis losing its data (a restart without persistence, a
failover to an empty replica). Evaluators reload when the version they see *differs*
from the one they hold, so a rebuilt snapshot that restarted at 1 would be ignored by
every evaluator already holding 1 (or whichever number the rebuild reaches) with other
rules, until the next change. So the first version written into an empty Redis is
``max(highest version this writer has seen + 1, unix milliseconds now)``:

- the writer's own memory makes it strictly above everything it wrote or read, which
  covers the usual case (one rule-updater task, still running when Redis restarts);
- the clock covers a writer that restarted too, or a second writer that never saw the
  latest version: evaluators can only hold versions written earlier, and a version is
  a past millisecond plus one per write since that floor, so it stays below the clock
  unless writes outran one per millisecond, or the writers' clocks disagree by more
  than the time since the earlier floor.

That residue was weighed against an epoch (a random generation id in the snapshot,
compared by evaluators together with the version): it would need a contract change in
`RuleSnapshot` and a second key for the evaluators' version poll to notice a new
generation (pub/sub announcements are lost exactly when Redis restarts), for a case
already needing both a clock far off and no surviving writer memory. Versions thus stay
one monotonic integer, as before, steady-state writes still add one, and the
compare-and-set is unchanged: two writers finding Redis empty both WATCH the missing
version key, and the one that loses the EXEC retries from the winner's version.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from alerting.adapters.redis import Keys

# rebuild(pipe, version_in_redis, version_to_write) -> the snapshot bytes stamped with
# version_to_write, or None for "no change". version_in_redis is 0 when Redis has none.
Rebuild = Callable[[Any, int, int], Awaitable[bytes | None]]
# also(pipe, carrying): queue more writes into the same MULTI; ``carrying`` is the
# snapshot version that holds the state the rebuild read (the one written, or the
# current one when nothing needed writing).
Also = Callable[[Any, int], None]


def _unix_ms() -> int:
    return time.time_ns() // 1_000_000


class ConflictError(RuntimeError):
    """Another writer kept winning; the caller retries later."""


class SnapshotStore:
    """One writer's compare-and-set over the snapshot keys.

    One per process, not per write: it remembers the highest version it has seen, which
    is what keeps a snapshot rebuilt into an empty Redis above that writer's earlier
    versions. ``clock_ms`` is the floor's clock (unix milliseconds), replaceable so tests
    can pin it.
    """

    def __init__(
        self, client: aioredis.Redis, keys: Keys, clock_ms: Callable[[], int] = _unix_ms
    ) -> None:
        self._redis = client
        self._keys = keys
        self._clock_ms = clock_ms
        self._highest_seen = 0  # the highest version read from or written to Redis

    @property
    def client(self) -> aioredis.Redis:
        return self._redis

    def _seen(self, version: int) -> int:
        self._highest_seen = max(self._highest_seen, version)
        return version

    def _next_version(self, current: int | None) -> int:
        """The version to write over ``current``, Redis' version (None: Redis has none)."""
        if current is not None:
            return current + 1
        # An empty Redis: start above anything an evaluator may hold (module docstring).
        return max(self._highest_seen + 1, self._clock_ms())

    async def version(self) -> int:
        raw = await self._redis.get(self._keys.version)
        return self._seen(int(raw)) if raw is not None else 0

    async def snapshot(self) -> bytes | None:
        data = await self._redis.get(self._keys.snapshot)
        return data if isinstance(data, bytes) else None

    async def holds_snapshot(self) -> bool:
        return bool(await self._redis.exists(self._keys.snapshot))

    async def update(
        self, rebuild: Rebuild, attempts: int = 20, also: Also | None = None
    ) -> int | None:
        """Run ``rebuild(pipe, current, new)`` under WATCH and write what it returns.

        ``rebuild`` may read through ``pipe`` (it is in immediate mode until MULTI) and
        returns the snapshot bytes stamped with version ``new`` (current + 1, or the
        restart floor when Redis holds no version), or None to write nothing.
        ``also`` adds the liveness records to the same MULTI, so they can never say a
        snapshot carries a change that it does not.
        Returns the version written, or None when nothing needed writing.
        """
        for _ in range(attempts):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(self._keys.version, self._keys.decisions)
                    raw = await pipe.get(self._keys.version)
                    current = self._seen(int(raw)) if raw is not None else None
                    new_version = self._next_version(current)
                    data = await rebuild(pipe, current or 0, new_version)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if data is None:
                        pipe.incr(self._keys.decisions)
                        if also is not None and current is not None:
                            also(pipe, current)
                        await pipe.execute()
                        return None
                    pipe.set(self._keys.snapshot, data)
                    pipe.set(self._keys.version, new_version)
                    if also is not None:
                        also(pipe, new_version)
                    pipe.publish(self._keys.version_channel, new_version)
                    await pipe.execute()
                    return self._seen(new_version)
                except WatchError:
                    continue
        raise ConflictError(f"snapshot update lost {attempts} races in a row")
