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
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from alerting.adapters.redis import Keys

# rebuild(pipe, version_in_redis) -> the snapshot bytes for version+1, or None for "no change"
Rebuild = Callable[[Any, int], Awaitable[bytes | None]]


class ConflictError(RuntimeError):
    """Another writer kept winning; the caller retries later."""


class SnapshotStore:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._redis = client
        self._keys = keys

    async def version(self) -> int:
        raw = await self._redis.get(self._keys.version)
        return int(raw) if raw is not None else 0

    async def snapshot(self) -> bytes | None:
        data = await self._redis.get(self._keys.snapshot)
        return data if isinstance(data, bytes) else None

    async def holds_snapshot(self) -> bool:
        return bool(await self._redis.exists(self._keys.snapshot))

    async def update(self, rebuild: Rebuild, attempts: int = 20) -> int | None:
        """Run ``rebuild(pipe, current_version)`` under WATCH and write what it returns.

        ``rebuild`` may read through ``pipe`` (it is in immediate mode until MULTI) and
        returns the new snapshot bytes for version current+1, or None to write nothing.
        Returns the version written, or None when nothing needed writing.
        """
        for _ in range(attempts):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(self._keys.version, self._keys.decisions)
                    raw = await pipe.get(self._keys.version)
                    current = int(raw) if raw is not None else 0
                    data = await rebuild(pipe, current)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if data is None:
                        pipe.incr(self._keys.decisions)
                        await pipe.execute()
                        return None
                    new_version = current + 1
                    pipe.set(self._keys.snapshot, data)
                    pipe.set(self._keys.version, new_version)
                    pipe.publish(self._keys.version_channel, new_version)
                    await pipe.execute()
                    return new_version
                except WatchError:
                    continue
        raise ConflictError(f"snapshot update lost {attempts} races in a row")
