"""The rule-updater's liveness records: which snapshot carries which change.

The evaluators' heartbeats say which snapshot each one holds; these say which snapshot
first carries each rule's (or silence's) current state, and which snapshot a full read
of Postgres produced (formats and meaning: ``alerting.domain.liveness``). They are
written in the snapshot's own MULTI (``SnapshotStore.update(also=...)``), so a record
never names a snapshot that was not written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from alerting.adapters.redis import Keys
from alerting.domain import liveness
from alerting.services.rule_updater.store import Also

PRUNE_BATCH = 1_000


@dataclass
class Applied:
    """What one snapshot write read from Postgres: entity versions by id (0: gone) and,
    for a full read, when it began (Postgres' clock, unix ms)."""

    versions: dict[str, int] = field(default_factory=dict)
    read_ms: int | None = None

    def writer(self, keys: Keys) -> Also:
        def also(pipe: Any, carrying: int) -> None:
            if self.versions:
                pipe.hset(
                    keys.applied,
                    mapping={i: liveness.pair(v, carrying) for i, v in self.versions.items()},
                )
            if self.read_ms is not None:
                pipe.set(keys.rebuilt, liveness.pair(self.read_ms, carrying))

        return also


async def prune_gone(client: aioredis.Redis, keys: Keys) -> int:
    """Drop the records of entities gone from Postgres (entity version 0); how many.

    Outside any MULTI: an id once gone never comes back (ids are fresh UUIDs), so no
    concurrent writer can need the record deleted here.
    """
    gone: list[Any] = []
    async for field_name, value in client.hscan_iter(keys.applied, count=PRUNE_BATCH):
        parsed = liveness.parse_pair(value)
        if parsed is not None and parsed[0] == 0:
            gone.append(field_name)
    for start in range(0, len(gone), PRUNE_BATCH):
        await client.hdel(keys.applied, *gone[start : start + PRUNE_BATCH])
    return len(gone)
