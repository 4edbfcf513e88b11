"""Applies rule and silence changes and reconciliations to the snapshot; the service's
core loop body.

Every change is applied as "make these rules (silences) look like Postgres says now",
read inside the store's WATCH window, so replayed, reordered or concurrent events all
converge on Postgres' state. Silences that end drop out at the next reconcile: an
ended silence mutes nothing anyway (evaluators check its bounds), so this only keeps
the snapshot small.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
from prometheus_client import Gauge, Histogram

from alerting.adapters.kafka import Record
from alerting.adapters.kafka.consumer import Rejected
from alerting.adapters.redis import Keys
from alerting.codec import DecodeError
from alerting.domain.model import ChangedEntity, MatchingRule, RuleChange
from alerting.services.rule_updater import silence_rows
from alerting.services.rule_updater.applied import Applied, prune_gone
from alerting.services.rule_updater.snapshot import SnapshotState
from alerting.services.rule_updater.store import SnapshotStore
from alerting.v1 import messages_pb2 as pb

log = logging.getLogger(__name__)

SNAPSHOT_VERSION = Gauge("alerting_snapshot_version", "Version of the rule snapshot last written")
SNAPSHOT_RULES = Gauge("alerting_snapshot_rules", "Enabled rules in the snapshot")
SNAPSHOT_SILENCES = Gauge("alerting_snapshot_silences", "Silences not over in the snapshot")
# When the snapshot was last proven equal to Postgres: the staleness alert's clock (the
# version only moves on a change, so a quiet platform would look stale by it).
RECONCILED_AT = Gauge(
    "alerting_snapshot_reconciled_timestamp_seconds",
    "Unix time of the last reconcile that compared the snapshot with Postgres",
)
APPLY_SECONDS = Histogram(
    "alerting_snapshot_apply_seconds",
    "Time to apply a batch of rule changes (or a reconcile) to the snapshot",
    ["kind"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

Build = Callable[[Any, int, Applied], Awaitable[SnapshotState | None]]
_COLUMNS = "rule_id::text AS rule_id, client_id, severity, source, name, enabled, version"
# Taken before a full read: every commit before it is visible to that read.
_READ_MS = "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint"


def _rule(row: asyncpg.Record) -> MatchingRule:
    return MatchingRule(
        row["rule_id"], row["client_id"], row["severity"], row["source"], row["name"]
    )


class SnapshotUpdater:
    def __init__(self, pool: asyncpg.Pool[Any], store: SnapshotStore, keys: Keys) -> None:
        self._pool = pool
        self._store = store
        self._keys = keys
        self._state: SnapshotState | None = None  # equals Redis at self._state.version
        self.reconciled = False

    async def _full_read(self, applied: Applied) -> list[MatchingRule]:
        """Every enabled rule, and (for liveness) when the read began."""
        applied.read_ms = await self._pool.fetchval(_READ_MS)
        return await self._enabled_rules()

    async def _enabled_rules(self) -> list[MatchingRule]:
        rows = await self._pool.fetch(f"SELECT {_COLUMNS} FROM rules WHERE enabled")
        return [_rule(r) for r in rows]

    async def _current(
        self, rule_ids: Sequence[str], applied: Applied
    ) -> dict[str, MatchingRule | None]:
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM rules WHERE rule_id = ANY($1::uuid[])",
            list(rule_ids),
        )
        current: dict[str, MatchingRule | None] = dict.fromkeys(rule_ids)
        current.update({r["rule_id"]: _rule(r) if r["enabled"] else None for r in rows})
        applied.versions.update(dict.fromkeys(rule_ids, 0))
        applied.versions.update({r["rule_id"]: r["version"] for r in rows})
        return current

    async def _state_at(self, pipe: Any, version: int) -> SnapshotState | None:
        """The snapshot at ``version``: the cached one, else Redis' (None if missing/bad)."""
        cached, self._state = self._state, None  # a failed write must not leave it edited
        if cached is not None and cached.version == version:
            return cached
        data = await pipe.get(self._keys.snapshot)
        if data is None:
            return None
        try:
            state = SnapshotState.parse(data)
        except DecodeError:
            log.warning("stored snapshot does not parse; rebuilding it from Postgres")
            return None
        return state if state.version == version else None

    async def _write(self, kind: str, build: Build) -> int | None:
        started = time.perf_counter()
        written: list[SnapshotState] = []
        applied = Applied()

        async def rebuild(pipe: Any, version: int, new_version: int) -> bytes | None:
            written.clear()
            applied.versions, applied.read_ms = {}, None
            state = await build(pipe, version, applied)
            if state is None:
                return None
            written.append(state)
            return state.serialize(new_version)

        version = await self._store.update(rebuild, also=applied.writer(self._keys))
        if written:
            self._state = written[0]
            SNAPSHOT_VERSION.set(self._state.version)
            SNAPSHOT_RULES.set(len(self._state))
            SNAPSHOT_SILENCES.set(self._state.silence_count)
        APPLY_SECONDS.labels(kind).observe(time.perf_counter() - started)
        return version

    async def _whole(self, version: int, applied: Applied) -> SnapshotState:
        rules = await self._full_read(applied)
        return SnapshotState.of(version, rules, (await silence_rows.not_over(self._pool)).values())

    async def apply_changes(
        self, rule_ids: Sequence[str], silence_ids: Sequence[str] = ()
    ) -> int | None:
        """Bring the given rules and silences up to date; return the version written
        (None: no change)."""

        async def build(pipe: Any, version: int, applied: Applied) -> SnapshotState | None:
            current = await self._current(rule_ids, applied)
            silences: dict[str, pb.SnapshotSilence | None] = {}
            if silence_ids:
                silences, versions = await silence_rows.current(self._pool, silence_ids)
                applied.versions.update(versions)
            state = await self._state_at(pipe, version)
            if state is None:  # no usable snapshot: rebuild it whole
                return await self._whole(version, applied)
            changed = bool(rule_ids) and state.apply(current)
            if silence_ids:
                changed |= state.apply_silences(silences)
            if changed:
                return state
            self._state = state  # unchanged and still equal to Redis
            return None

        return await self._write("change", build)

    async def reconcile(self) -> int | None:
        """Compare the whole snapshot with Postgres; rewrite it only if they differ."""

        async def build(pipe: Any, version: int, applied: Applied) -> SnapshotState | None:
            exists = await pipe.exists(self._keys.snapshot)
            rules = await self._full_read(applied)
            silences = await silence_rows.not_over(self._pool)
            state = await self._state_at(pipe, version) if exists else None
            if state is not None and state.rules() == {r.rule_id: r for r in rules}:
                held = state.silences()
                if held == silences:
                    self._state = state
                    return None
                if any(held.get(k) != v for k, v in silences.items()):
                    log.warning("snapshot silences drifted from Postgres at version %d", version)
                # Ended silences (the usual difference) are dropped without a warning.
                state.apply_silences({k: silences.get(k) for k in held.keys() | silences.keys()})
                return state
            if state is not None or exists:
                log.warning("snapshot drifted from Postgres at version %d: rebuilding", version)
            return SnapshotState.of(version, rules, silences.values())

        version = await self._write("reconcile", build)
        self.reconciled = True
        RECONCILED_AT.set_to_current_time()
        await prune_gone(self._store.client, self._keys)
        return version

    async def handle(self, records: list[Record[RuleChange]]) -> Sequence[Rejected]:
        """ConsumeLoop handler: one snapshot write per batch, however many changes."""
        rejected: list[Rejected] = []
        ids: dict[ChangedEntity, list[str]] = {e: [] for e in ChangedEntity}
        for record in records:
            try:
                uuid.UUID(record.value.rule_id)
            except ValueError:
                rejected.append(Rejected(record, "RuleChanged.rule_id is not a UUID"))
                continue
            ids[record.value.entity].append(record.value.rule_id)
        rule_ids, silence_ids = ids[ChangedEntity.RULE], ids[ChangedEntity.SILENCE]
        if rule_ids or silence_ids:
            await self.apply_changes(
                list(dict.fromkeys(rule_ids)), list(dict.fromkeys(silence_ids))
            )
        return rejected

    async def check(self) -> None:
        """Ready means evaluators can load rules: the first reconcile is done AND Redis
        holds the snapshot now (a flushed or restarted Redis loses it until the next
        change or reconcile writes it again)."""
        if not self.reconciled:
            raise RuntimeError("initial reconcile with Postgres not done yet")
        if not await self._store.holds_snapshot():
            raise RuntimeError(f"Redis holds no rule snapshot at {self._keys.snapshot}")
