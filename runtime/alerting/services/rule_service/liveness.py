"""Is a change live? The Redis side of ``alerting.domain.liveness``, for any entity.

Rules and silences alike are asked about as ``Versioned`` (id, version, when it
changed); one check is one Redis round trip (a pipeline of HGETALL on the heartbeats,
GET on the full-read record and HMGET on the ids), however many items a page holds.
``wait`` polls that check until the change is live or the bound passes; the caller's
change is committed either way.

Redis being away is not the caller's error: the answer is then "not known to be live"
(false), and the outage is logged once per state change.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from alerting.adapters.redis import Keys
from alerting.dependency_log import DependencyLog
from alerting.domain import liveness
from alerting.domain.liveness import Versioned

log = logging.getLogger(__name__)

POLL_S = 0.05
# A Redis that stops answering (rather than refusing connections) must not hang the
# rules and silences API: one check gets this long, then counts as "not known live".
CHECK_TIMEOUT_S = 1.0
# Deletes an evaluator's stale heartbeat only if it is still the value that was read:
# an evaluator that came back in between keeps the heartbeat it just wrote.
_PRUNE = """
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    n = n + redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return n
"""


class Liveness:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._redis = client
        self._keys = keys
        self._state = DependencyLog(log, "checking whether changes are live (Redis)")

    async def live(self, items: Sequence[Versioned]) -> list[bool]:
        """One answer per item, in order; all false when no evaluator is running."""
        if not items:
            return []
        try:
            heartbeats, rebuilt, applied, now_ms = await asyncio.wait_for(
                self._read([i.id for i in items]), CHECK_TIMEOUT_S
            )
        except Exception as exc:  # Redis away or hung: nothing is known to be live
            self._state.failed(exc)
            return [False] * len(items)
        self._state.ok()
        held = liveness.held(heartbeats, now_ms)
        if held.stale:
            try:
                await asyncio.wait_for(self._prune(heartbeats, held.stale), CHECK_TIMEOUT_S)
            except Exception as exc:  # the next check prunes them; the answer stands
                log.debug("pruning stale evaluator heartbeats: %s", exc)
        return [
            liveness.is_live(item, record, rebuilt, held.lowest)
            for item, record in zip(items, applied, strict=True)
        ]

    async def _read(self, ids: list[str]) -> tuple[Any, Any, list[Any], int]:
        """The records, and now by Redis' clock: the one heartbeats are stamped with."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._keys.evaluators)
            pipe.get(self._keys.rebuilt)
            pipe.hmget(self._keys.applied, ids)
            pipe.time()
            heartbeats, rebuilt, applied, (seconds, micros) = await pipe.execute()
        return heartbeats, rebuilt, applied, int(seconds) * 1000 + int(micros) // 1000

    async def wait(self, item: Versioned, timeout_s: float) -> bool:
        """Poll until ``item`` is live or ``timeout_s`` passed; whether it is live."""
        deadline = time.monotonic() + timeout_s
        while True:
            (live,) = await self.live([item])
            left = deadline - time.monotonic()
            if live or left <= 0:
                return live
            await asyncio.sleep(min(POLL_S, left))

    async def _prune(self, heartbeats: dict[bytes, bytes], stale: Sequence[str]) -> None:
        args: list[bytes | str] = []
        for instance in stale:
            args += [instance, heartbeats[instance.encode()]]
        await self._redis.eval(_PRUNE, 1, self._keys.evaluators, *args)
