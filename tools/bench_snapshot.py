"""How long applying one rule change to a large snapshot takes (rule-updater's hot path).

Builds a snapshot of N rules, then applies single-rule changes through the real
SnapshotStore (WATCH/MULTI/EXEC against the Redis at ALERTING_REDIS_URL, under a
throw-away key prefix) and prints the figures. Postgres reads are left out: they are
one indexed lookup by primary key per batch.

    .venv/bin/python tools/bench_snapshot.py [--rules 100000] [--changes 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from typing import Any

import redis.asyncio as aioredis

from alerting import config
from alerting.adapters.redis import Keys
from alerting.domain.model import MatchingRule
from alerting.services.rule_updater.snapshot import SnapshotState
from alerting.services.rule_updater.store import SnapshotStore


def rules(n: int) -> list[MatchingRule]:
    return [
        MatchingRule(str(uuid.uuid4()), f"client-{i % 1000}", "HIGH", f"src{i % 500}", f"name{i}")
        for i in range(n)
    ]


def ms(values: list[float]) -> str:
    q = statistics.quantiles(values, n=20)
    return f"p50 {statistics.median(values) * 1000:6.1f} ms  p95 {q[18] * 1000:6.1f} ms"


async def main(n: int, changes: int) -> None:
    settings = config.load()
    client = aioredis.Redis.from_url(settings.redis_url)
    keys = Keys(f"bench-{uuid.uuid4().hex[:8]}:")
    store = SnapshotStore(client, keys)
    started = time.perf_counter()
    state = SnapshotState.of(0, rules(n))
    print(f"built a snapshot of {len(state):,} rules in {time.perf_counter() - started:.2f}s")
    try:
        await store.update(lambda _pipe, _current, v: _serialize(state, v))
        in_memory: list[float] = []
        end_to_end: list[float] = []
        for i in range(changes):
            rule = MatchingRule(str(uuid.uuid4()), "client-bench", "LOW", "bench", f"n{i}")
            t0 = time.perf_counter()
            state.apply({rule.rule_id: rule})
            data = state.serialize(state.version + 1)
            in_memory.append(time.perf_counter() - t0)

            async def rebuild(_pipe: Any, _current: int, _new: int, data: bytes = data) -> bytes:
                return data

            t0 = time.perf_counter()
            await store.update(rebuild)
            end_to_end.append(time.perf_counter() - t0 + in_memory[-1])
        size = len(data) / 1e6
        print(f"snapshot size            {size:.1f} MB")
        print(f"apply + serialise        {ms(in_memory)}")
        print(f"apply + write to Redis   {ms(end_to_end)}   ({changes} changes)")
    finally:
        await client.delete(keys.snapshot, keys.version)
        await client.aclose()


async def _serialize(state: SnapshotState, version: int) -> bytes:
    return state.serialize(version)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.rules, args.changes))
