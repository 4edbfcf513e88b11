"""When a change is live: every running evaluator holds a snapshot that carries it.

Three records in Redis answer it, each written by the one process that knows it:

- each evaluator's heartbeat, ``<snapshot version>:<unix ms>``, written when it loads a
  snapshot and every second; one older than ``HEARTBEAT_TTL_MS`` is an evaluator that
  is no longer running;
- per changed rule or silence, the snapshot version that first carries its current
  state, ``<entity version>:<snapshot version>`` (entity version 0: gone), written by
  the rule-updater in the same MULTI as that snapshot;
- after a full comparison with Postgres, ``<postgres read ms>:<snapshot version>``:
  everything changed before the read is in that snapshot, which covers entities whose
  own record is missing (Redis lost its data and the snapshot was rebuilt whole).

Whatever cannot be parsed counts as absent, so a corrupt value makes a change look not
live rather than live. Pure: the clock is a parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

HEARTBEAT_INTERVAL_MS = 1_000
HEARTBEAT_TTL_MS = 5_000
# An evaluator's heartbeat, stamped by Redis' own clock (TIME), the clock rule-service
# reads the heartbeats' age by: the hosts' clocks never meet. KEYS[1] is the hash,
# ARGV the instance and the version it holds.
HEARTBEAT_SCRIPT = """
local t = redis.call('TIME')
local ms = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ms)
"""
# A row's ``updated_at`` is its transaction's start, not its commit: a change whose
# transaction began shortly before a full read may still have been invisible to it. The
# margin bounds that transaction's length; the entity's own record (written when its
# change is applied) answers for anything newer.
REBUILD_MARGIN_MS = 5_000

Raw = bytes | str | None


@dataclass(frozen=True)
class Versioned:
    """A rule or silence as stored: its id, its version and when it last changed."""

    id: str
    version: int
    changed_at_ms: int


@dataclass(frozen=True)
class Held:
    """The running evaluators: the lowest snapshot version any of them holds (None:
    none is running), and the instances whose heartbeat is stale."""

    lowest: int | None
    stale: tuple[str, ...]


def pair(first: int, second: int) -> str:
    """The ``a:b`` form of every record."""
    return f"{first}:{second}"


def parse_pair(raw: Raw) -> tuple[int, int] | None:
    if raw is None:
        return None
    text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
    first, sep, second = text.partition(":")
    if not sep:
        return None
    try:
        return int(first), int(second)
    except ValueError:
        return None


def held(heartbeats: Mapping[Raw, Raw], now_ms: int) -> Held:
    """Which snapshot every running evaluator holds at least."""
    versions: list[int] = []
    stale: list[str] = []
    for instance, value in heartbeats.items():
        parsed = parse_pair(value)
        if parsed is None or now_ms - parsed[1] > HEARTBEAT_TTL_MS:
            name = instance.decode() if isinstance(instance, bytes) else str(instance)
            stale.append(name)
        else:
            versions.append(parsed[0])
    return Held(min(versions) if versions else None, tuple(stale))


def is_live(item: Versioned, applied: Raw, rebuilt: Raw, lowest_held: int | None) -> bool:
    """Whether every running evaluator holds a snapshot carrying ``item`` as stored."""
    if lowest_held is None:
        return False
    record = parse_pair(applied)
    if record is not None and record[0] >= item.version and record[1] <= lowest_held:
        return True
    full = parse_pair(rebuilt)
    return (
        full is not None
        and item.changed_at_ms + REBUILD_MARGIN_MS <= full[0]
        and full[1] <= lowest_held
    )
