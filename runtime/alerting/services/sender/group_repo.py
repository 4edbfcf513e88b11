"""``PostgresGroupStore``, the ``GroupStore`` the flusher runs on: the statements of
``group_statements.py``, a claim and an outcome each one transaction of a few
statements per batch of groups (docs/grouping.md)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from alerting.adapters.postgres import UNAVAILABLE
from alerting.domain.delivery import Outcome, Target
from alerting.domain.delivery_messages import FIRING, Digest
from alerting.domain.grouping import (
    MAX_DIGEST_MEMBERS,
    GroupingPolicy,
    InvalidGrouping,
    next_flush_s,
)
from alerting.sealed import ENDPOINT_PREVIOUS_SECRET, ENDPOINT_SIGNING_SECRET
from alerting.services.sender import group_statements as sql
from alerting.services.sender.group_store import DigestOutcome, GroupClaim
from alerting.services.sender.repo import (
    ROLLED_BACK,
    Pool,
    PostgresSenderStore,
    outgoing,
    stored_templates,
)
from alerting.services.sender.store import StoreUnavailable

log = logging.getLogger(__name__)
ENDPOINT_DELETED = "endpoint deleted"
ENDPOINT_DISABLED = "endpoint disabled"


@dataclass(frozen=True, slots=True)
class _Fixed:
    digest_id: str
    seq: int
    repeat: bool
    ids: list[str]
    attempts: int  # tries so far


def policy_of(group: asyncpg.Record) -> GroupingPolicy:
    """The rule's current policy; a rule without one (or deleted, or holding one this
    version cannot read) keeps the group's timers."""
    if group["grouping"] is not None:
        try:
            return GroupingPolicy.parse(group["grouping"])
        except InvalidGrouping as exc:
            log.warning("group %s: rule's grouping ignored: %s", group["group_id"], exc)
    return GroupingPolicy(
        (), group["group_wait_s"], group["group_interval_s"], group["repeat_interval_s"]
    )


# Before every (updated_at, notification_id): a sweep from the start.
SWEEP_START = (datetime(1970, 1, 1, tzinfo=UTC), "00000000-0000-0000-0000-000000000000")


class PostgresGroupStore:
    """The ``GroupStore`` over a connection pool. Signing secrets are opened by the
    sender's own store (its keyring and its cache of opened secrets)."""

    def __init__(self, pool: Pool, secrets: PostgresSenderStore) -> None:
        self._pool = pool
        self._secrets = secrets
        # Where the next sweep for stranded GROUPED rows reads from (keyset order).
        self._stranded_after: tuple[datetime, str] = SWEEP_START

    async def claim_groups(self, owner: str, lease_s: float, limit: int) -> list[GroupClaim]:
        async with self._pool.acquire() as conn, conn.transaction():
            groups = await conn.fetch(sql.CLAIM_GROUPS, owner, lease_s, limit)
            if not groups:
                return []
            await conn.execute(sql.FLUSHED_COMMIT)
            return await self._fix(conn, groups)

    async def _fix(self, conn: Any, groups: list[asyncpg.Record]) -> list[GroupClaim]:
        """Each claimed group's digest: (1) an unsent one, (2) a new one of the waiting
        members, (3) a repeat of those still firing; else the group is rescheduled or
        closed here and not returned."""
        ids = [g["group_id"] for g in groups]
        policies = {g["group_id"]: policy_of(g) for g in groups}
        endpoints = {
            r["endpoint_id"]: r
            for r in await conn.fetch(
                sql.ENDPOINTS, [g["endpoint_id"] for g in groups], [g["client_id"] for g in groups]
            )
        }
        fixed: dict[str, _Fixed] = {}
        settle: dict[str, datetime | None] = {}
        taken_over = {g["group_id"] for g in groups if g["taken_over"]}
        crashed = []
        for r in await conn.fetch(sql.UNSENT, ids):
            tries = r["attempts"]
            if r["status"] == "SENDING" and r["group_id"] in taken_over:
                crashed.append(r["digest_id"])
                tries += 1
            if r["due"]:
                fixed[r["group_id"]] = _Fixed(
                    r["digest_id"], r["seq"], r["is_repeat"], r["notification_ids"], tries
                )
            else:
                settle[r["group_id"]] = r["next_attempt_at"]
        if fixed:
            resent = [f.digest_id for f in fixed.values()]
            await conn.execute(sql.RESENDING, resent, crashed)
        fresh = [g for g in groups if g["group_id"] not in fixed and g["group_id"] not in settle]
        if fresh:
            made = await conn.fetch(
                sql.NEW_DIGESTS,
                [g["group_id"] for g in fresh],
                [g["endpoint_id"] for g in fresh],
                MAX_DIGEST_MEMBERS,
            )
            for r in made:
                fixed[r["group_id"]] = _Fixed(
                    r["digest_id"], r["seq"], False, r["notification_ids"], 0
                )
        repeat_due = [
            g["group_id"]
            for g in fresh
            if g["group_id"] not in fixed
            and g["kind"] == FIRING
            and _reachable(endpoints.get(g["endpoint_id"]))
            and g["last_flushed_at"] is not None
            and g["last_flushed_at"] + timedelta(seconds=policies[g["group_id"]].repeat_interval_s)
            <= g["now"]
        ]
        if repeat_due:
            for r in await conn.fetch(sql.REPEAT_DIGESTS, repeat_due, MAX_DIGEST_MEMBERS):
                fixed[r["group_id"]] = _Fixed(
                    r["digest_id"], r["seq"], True, r["notification_ids"], 0
                )
        states = {
            r["group_id"]: r for r in await conn.fetch(sql.STATE, [g["group_id"] for g in groups])
        }
        for g in fresh:
            gid = g["group_id"]
            if gid not in fixed:
                # Nothing to send: a firing group whose members still fire waits for its
                # repeat; any other closes (an unreachable endpoint's at once).
                firing = states[gid]["still_firing"] > 0 and g["kind"] == FIRING
                alive = _reachable(endpoints.get(g["endpoint_id"]))
                settle[gid] = (
                    g["last_flushed_at"] + timedelta(seconds=policies[gid].repeat_interval_s)
                    if firing and alive and g["last_flushed_at"] is not None
                    else None
                )
        if settle:
            await _settle(conn, settle, {gid: False for gid in settle}, policies)
        members = {
            r["notification_id"]: r
            for r in await conn.fetch(sql.MEMBERS, [i for f in fixed.values() for i in f.ids])
        }
        return [
            self._claim(g, fixed[g["group_id"]], endpoints.get(g["endpoint_id"]), members,
                        states[g["group_id"]]["still_firing"], policies[g["group_id"]])
            for g in groups
            if g["group_id"] in fixed
        ]  # fmt: skip

    def _claim(
        self,
        g: asyncpg.Record,
        f: _Fixed,
        endpoint: asyncpg.Record | None,
        members: Mapping[str, asyncpg.Record],
        still_firing: int,
        policy: GroupingPolicy,
    ) -> GroupClaim:
        attempts = f.attempts + 1
        shown = tuple(outgoing(members[i], attempts) for i in f.ids if i in members)
        if g["kind"] == FIRING and not f.repeat:
            still_firing += len(shown)
        digest = Digest(
            digest_id=f.digest_id, group_id=g["group_id"], client_id=g["client_id"],
            kind=g["kind"], labels=dict(g["labels"]), members=shown, seq=f.seq,
            repeat=f.repeat, still_firing=still_firing,
            attempts=attempts,
        )  # fmt: skip
        unreachable = None
        target = None
        if endpoint is None:
            unreachable = ENDPOINT_DELETED
        elif not endpoint["enabled"]:
            unreachable = ENDPOINT_DISABLED
        else:
            target = self._target(endpoint)
        return GroupClaim(
            digest, g["endpoint_id"], endpoint["type"] if endpoint else "unknown", target,
            policy, g["claim_expires_at"], g["taken_over"], unreachable,
        )  # fmt: skip

    def _target(self, e: asyncpg.Record) -> Target:
        eid = e["endpoint_id"]
        return Target(
            e["type"], e["value"].strip(),
            self._secrets.open_secret(ENDPOINT_SIGNING_SECRET, eid, e["signing_secret"]),
            (eid,), None,
            self._secrets.open_secret(ENDPOINT_PREVIOUS_SECRET, eid, e["previous_secret"]),
            stored_templates(e["templates"]),
            rate_per_s=e["rate_per_s"], rate_burst=e["rate_burst"],
        )  # fmt: skip

    async def settle_stranded(self, limit: int) -> int:
        """The safety net (``group_statements.STRANDED``): read the next ``limit``
        GROUPED notifications from where the last sweep stopped (from the start again
        after the last), and settle those no digest is left to settle; return how many."""
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                scanned = await conn.fetch(sql.STRANDED, limit, *self._stranded_after)
                self._stranded_after = (
                    (scanned[-1]["updated_at"], scanned[-1]["notification_id"])
                    if len(scanned) == limit
                    else SWEEP_START
                )
                ids = [r["notification_id"] for r in scanned if r["stranded"]]
                if ids:
                    await conn.execute(sql.FINALISE, ids)
                return len(ids)
        except (*UNAVAILABLE, *ROLLED_BACK) as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def record_digests(self, owner: str, outcomes: Sequence[DigestOutcome]) -> set[str]:
        """One transaction (see ``group_statements.HELD``); ``StoreUnavailable`` when
        Postgres is away or rolled it back over a conflict: nothing was written, the
        claim expires and the digest is resent by whoever takes the group."""
        try:
            return await self._record(owner, outcomes)
        except (*UNAVAILABLE, *ROLLED_BACK) as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def _record(self, owner: str, outcomes: Sequence[DigestOutcome]) -> set[str]:
        # HELD locks the groups in key order itself (see its comment).
        if not outcomes:
            return set()
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                sql.HELD, owner, [o.claim.digest.group_id for o in outcomes],
                [o.claim.lease for o in outcomes],
            )  # fmt: skip
            holds = {r["group_id"]: r["held"] for r in rows}
            held = [o for o in outcomes if holds[o.claim.digest.group_id]]
            if not held:
                return set()
            now: datetime = rows[0]["now"]
            retry_at = {
                r["digest_id"]: r["next_attempt_at"]
                for r in await conn.fetch(
                    sql.DIGEST_OUTCOMES,
                    [o.claim.digest.digest_id for o in held],
                    [o.status for o in held],
                    [o.error for o in held],
                    [o.response_code for o in held],
                    [o.delay_ms for o in held],
                )
            }
            await _write_members(conn, [o for o in held if not o.claim.digest.repeat])
            gone = [o for o in held if o.disable_reason is not None]
            if gone:
                await conn.execute(
                    sql.DISABLE_GONE,
                    [o.claim.endpoint_id for o in gone],
                    [o.disable_reason for o in gone],
                )
            gids = [o.claim.digest.group_id for o in held]
            states = {r["group_id"]: r for r in await conn.fetch(sql.STATE, gids)}
            due: dict[str, datetime | None] = {}
            flushed: dict[str, bool] = {}
            for o in held:
                gid = o.claim.digest.group_id
                flushed[gid] = o.status != Outcome.RETRY.value
                due[gid] = (
                    retry_at[o.claim.digest.digest_id]
                    if not flushed[gid]
                    else _after_flush(o, states[gid], now)
                )
            await _settle(
                conn, due, flushed, {o.claim.digest.group_id: o.claim.policy for o in held}
            )
        return set(gids)


def _reachable(endpoint: asyncpg.Record | None) -> bool:
    return endpoint is not None and bool(endpoint["enabled"])


def _after_flush(o: DigestOutcome, state: Mapping[str, Any], now: datetime) -> datetime | None:
    """The group's next due time after a flush (``domain.grouping.next_flush_s``); a
    group whose endpoint is gone only flushes what is still waiting, at once, to fail it."""
    pending = bool(state["pending"])
    if o.claim.unreachable is not None:
        return now if pending else None
    if pending and len(o.claim.digest.members) >= MAX_DIGEST_MEMBERS:
        return now  # a storm bigger than one digest: the rest go out at once
    kind = o.claim.digest.kind
    after = next_flush_s(
        o.claim.policy, kind, pending=pending, still_firing=state["still_firing"] > 0
    )
    return None if after is None else now + timedelta(seconds=after)


async def _write_members(conn: Any, outcomes: Sequence[DigestOutcome]) -> None:
    """The members' deliveries and attempt-log rows, then their notifications that are
    final now: three statements for the whole batch (the members locked first)."""
    rows = [
        (nid, o.claim.endpoint_id, o.claim.digest.digest_id, o)
        for o in outcomes
        for nid in sorted(m.notification_id for m in o.claim.digest.members)
    ]
    if not rows:
        return
    # RETRY keeps a member GROUPED under its digest, which is tried again as it is.
    status = {Outcome.RETRY.value: "GROUPED"}
    final = sorted({r[0] for r in rows if r[3].status != Outcome.RETRY.value})
    if final:
        # Locked before the deliveries are written: see LOCK_MEMBERS.
        await conn.execute(sql.LOCK_MEMBERS, final)
    await conn.execute(
        sql.MEMBER_OUTCOMES,
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
        [status.get(r[3].status, r[3].status) for r in rows],
        [r[3].error for r in rows], [r[3].response_code for r in rows],
        [r[3].started_at for r in rows], [r[3].duration_ms for r in rows],
        [r[3].outcome for r in rows], [r[3].excerpt for r in rows],
    )  # fmt: skip
    if final:
        await conn.execute(sql.FINALISE, final)


async def _settle(
    conn: Any,
    due: Mapping[str, datetime | None],
    flushed: Mapping[str, bool],
    policies: Mapping[str, GroupingPolicy],
) -> None:
    ids = sorted(due)
    await conn.execute(
        sql.SETTLE, ids, [due[i] for i in ids], [flushed[i] for i in ids],
        [policies[i].group_wait_s for i in ids], [policies[i].group_interval_s for i in ids],
        [policies[i].repeat_interval_s for i in ids],
    )  # fmt: skip
