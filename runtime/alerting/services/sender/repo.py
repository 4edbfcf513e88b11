"""``PostgresSenderStore``, the ``SenderStore`` the sender runs on: the statements of
``statements.py`` (claim with a lease, read endpoints, record outcomes and attempts), one
per batch for each step, and the signing secrets they return opened."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any, TypeAlias

import asyncpg

from alerting.adapters.postgres import UNAVAILABLE
from alerting.domain.delivery import NotificationEndpoint
from alerting.domain.delivery_messages import OutgoingNotification
from alerting.domain.grouping import GroupingPolicy, InvalidGrouping
from alerting.sealed import (
    ENDPOINT_PREVIOUS_SECRET,
    ENDPOINT_SIGNING_SECRET,
    Keyring,
    SealedColumn,
    SealError,
    is_sealed,
)
from alerting.services.sender import statements as sql
from alerting.services.sender.group_statements import FINALISE
from alerting.services.sender.store import Claim, DeliveryRow, Finish, Join, StoreUnavailable

Pool: TypeAlias = "asyncpg.Pool[Any]"  # generic only to the type checker
log = logging.getLogger(__name__)

# Opened signing secrets kept per process, by (endpoint id, stored value): a batch's
# endpoints are mostly the ones of the batches before it, so a delivery pays a dict read,
# not a decryption. The stored value is part of the key (a fresh nonce per seal), so a
# re-sealed or changed secret is a miss, never a stale hit. Cleared when full: bounded
# memory however many endpoints exist.
OPENED_CACHE_SIZE = 10_000

GROUPED = "GROUPED"
# Postgres rolled the outcome's transaction back to break a conflict with another one
# (two senders finishing taken-over rows, a purge): nothing was written, and the same
# write succeeds once the other transaction is through. Raised out, the batch's
# outcomes would be lost and its receivers called again after the lease.
ROLLED_BACK: tuple[type[Exception], ...] = (
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)


def _context(value: object) -> dict[str, str]:
    # The aggregator writes a JSON object of strings; anything else is shown, not fatal.
    if type(value) is dict:
        # Decoded afresh for this row, and a JSON object's keys are strings already.
        for v in value.values():
            if type(v) is not str:
                break
        else:
            return value
    if isinstance(value, dict):
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}
    return {} if value is None else {"context": json.dumps(value)}


def stored_templates(value: object) -> dict[str, str] | None:
    # The API stores only objects of strings (validated templates); anything else is
    # treated as no templates rather than failing the whole batch's endpoint lookup.
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return {str(k): v for k, v in value.items()}
    return None


def outgoing(row: asyncpg.Record, attempts: int) -> OutgoingNotification:
    """A notification row as the channels render it: the columns the claim statements
    return, and the flusher's members (``group_statements.MEMBERS``)."""
    return OutgoingNotification(
        notification_id=row["notification_id"],
        client_id=row["client_id"],
        alert_id=row["alert_id"],
        severity=row["severity"],
        source=row["source"],
        name=row["name"],
        event_ts=int(row["event_ts"]),
        rule_ids=tuple(row["rule_ids"]),
        attempts=attempts,
        context=_context(row["context"]),
        kind=row["kind"],
        episode=row["episode"],
    )


def _claim(row: asyncpg.Record) -> Claim:
    n = outgoing(row, row["attempts"])
    return Claim(n, row["claim_expires_at"], row["previous_status"] == "SENDING")


class PostgresSenderStore:
    """The ``SenderStore`` over a connection pool: the statements above, one per step."""

    def __init__(self, pool: Pool, keyring: Keyring | None = None) -> None:
        """``keyring`` opens sealed signing secrets (the sender passes the configured
        one); without it only rows written before sealing (plain text) open."""
        self._pool = pool
        self._keyring = keyring
        self._opened: dict[tuple[str, str], str | None] = {}
        # Stored policies that no longer parse, already logged: (rule id, stored text).
        self._bad_policies: set[tuple[str, str]] = set()

    async def claim_ready(self, ids: Sequence[str], owner: str, lease_s: float) -> list[Claim]:
        rows = await self._pool.fetch(sql.CLAIM_READY, owner, lease_s, list(ids))
        return [_claim(r) for r in rows]

    async def claim_due(self, owner: str, lease_s: float, limit: int) -> list[Claim]:
        rows = await self._pool.fetch(sql.CLAIM_DUE, owner, lease_s, limit)
        return [_claim(r) for r in rows]

    async def endpoints_for(self, ids: Sequence[str]) -> dict[str, list[NotificationEndpoint]]:
        rows = await self._pool.fetch(sql.ENDPOINTS, list(ids))
        found: dict[str, list[NotificationEndpoint]] = {i: [] for i in ids}
        for r in rows:
            found[r["notification_id"]].append(
                NotificationEndpoint(
                    endpoint_id=r["endpoint_id"],
                    type=r["type"],
                    value=r["value"],
                    signing_secret=self._open(
                        ENDPOINT_SIGNING_SECRET, r["endpoint_id"], r["signing_secret"]
                    ),
                    prior_status=r["prior_status"],
                    prior_error=r["prior_error"],
                    previous_secret=self._open(
                        ENDPOINT_PREVIOUS_SECRET, r["endpoint_id"], r["previous_secret"]
                    ),
                    templates=stored_templates(r["templates"]),
                    rate_per_s=r["rate_per_s"],
                    rate_burst=r["rate_burst"],
                    rule_id=r["rule_id"],
                    grouping=self._policy(r["rule_id"], r["grouping"]),
                )
            )
        return found

    def _policy(self, rule_id: str, stored: object) -> GroupingPolicy | None:
        """The rule's grouping policy. One stored before the bounds it breaks now (or
        written around the API) is treated as none, logged once per rule and value:
        its notifications are delivered one by one rather than the batch failing."""
        if stored is None:
            return None
        try:
            return GroupingPolicy.parse(stored)
        except InvalidGrouping as exc:
            key = (rule_id, json.dumps(stored, sort_keys=True))
            if key not in self._bad_policies:
                if len(self._bad_policies) >= OPENED_CACHE_SIZE:
                    self._bad_policies.clear()
                self._bad_policies.add(key)
                log.error("rule %s: stored grouping policy ignored (ungrouped): %s", rule_id, exc)
            return None

    def _open(self, column: SealedColumn, endpoint_id: str, stored: str | None) -> str | None:
        """The endpoint's secret in ``column``; None when it cannot be opened, which the
        sender's channels turn into a retried failure (never an unsigned request)."""
        if stored is None:
            return None
        key = (endpoint_id, stored)
        try:
            return self._opened[key]
        except KeyError:
            pass
        binding = column.binding(endpoint_id)
        try:
            if self._keyring is None:
                opened = None if is_sealed(stored) else stored
            else:
                opened = self._keyring.open(stored, binding)
        except SealError as exc:
            # Once per stored value (then cached): names the key id, never a secret.
            log.error("endpoint %s: signing secret cannot be opened: %s", endpoint_id, exc)
            opened = None
        if len(self._opened) >= OPENED_CACHE_SIZE:
            self._opened.clear()
        self._opened[key] = opened
        return opened

    def open_secret(self, column: SealedColumn, endpoint_id: str, stored: str | None) -> str | None:
        """``_open`` for the group flusher's store (``group_repo.py``): one cache of
        opened secrets per process."""
        return self._open(column, endpoint_id, stored)

    async def record_outcomes(
        self,
        owner: str,
        deliveries: Sequence[DeliveryRow],
        finishes: Sequence[Finish],
        joins: Sequence[Join] = (),
    ) -> set[str]:
        """One transaction: the delivery rows, HELD, the held claims' joins
        (JOIN_GROUPS, only when there are any), FINISH, WAKE_RESOLVED (only when a
        firing row finishing has a resolved row waiting), and FINALISE for the claims
        finishing GROUPED (see ``statements.py``). Returns the ids of the finishes
        written and of those whose notification no longer exists (settled: see HELD).
        Raises ``StoreUnavailable`` when Postgres is away or rolled the transaction
        back over a conflict (``ROLLED_BACK``): the worker tries again.

        Trying again is safe even when the COMMIT went through and only its answer was
        lost: a SENT delivery is not rewritten, and HELD finds no claim left to finish
        (the retry reports none held; other delivery rows count one attempt more)."""
        try:
            return await self._record(owner, deliveries, finishes, joins)
        except (*UNAVAILABLE, *ROLLED_BACK) as exc:  # the same write may land when tried again
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def _record(
        self,
        owner: str,
        deliveries: Sequence[DeliveryRow],
        finishes: Sequence[Finish],
        joins: Sequence[Join],
    ) -> set[str]:
        # Rows are locked in id order: two senders recording the same taken-over rows (the
        # late owner and the new one) then wait for each other instead of deadlocking.
        deliveries = sorted(deliveries, key=lambda d: (d.notification_id, d.endpoint_id))
        finishes = sorted(finishes, key=lambda f: f.notification_id)
        joins = sorted(joins, key=lambda j: (j.notification_id, j.endpoint_id))
        async with self._pool.acquire() as conn, conn.transaction():
            if deliveries:
                await conn.execute(
                    sql.RECORD_DELIVERIES,
                    [d.notification_id for d in deliveries],
                    [d.endpoint_id for d in deliveries],
                    [d.endpoint_type for d in deliveries],
                    [d.status for d in deliveries],
                    [d.error for d in deliveries],
                    [d.response_code for d in deliveries],
                    [d.disable_reason for d in deliveries],
                    [d.started_at for d in deliveries],
                    [d.duration_ms for d in deliveries],
                    [d.excerpt for d in deliveries],
                )
            if not finishes:
                return set()
            rows = await conn.fetch(
                sql.HELD, owner, [f.notification_id for f in finishes], [f.lease for f in finishes]
            )
            gone = {finishes[r["i"] - 1].notification_id for r in rows if r["ctid"] is None}
            held = [(r["ctid"], finishes[r["i"] - 1]) for r in rows if r["held"]]
            if not held:
                return gone
            held_ids = {f.notification_id for _, f in held}
            held_joins = [j for j in joins if j.notification_id in held_ids]
            if held_joins:
                await _join(conn, held_joins)
            written = await conn.fetch(
                sql.FINISH,
                [row for row, _ in held],
                [f.status for _, f in held],
                [f.delay_ms for _, f in held],
                [f.error for _, f in held],
                [1 if f.refund else 0 for _, f in held],
            )
            woken = [r["notification_id"] for r in written if r["wakes"]]
            if woken:
                await conn.execute(sql.WAKE_RESOLVED, woken)
            grouped = [f.notification_id for _, f in held if f.status == GROUPED]
            if grouped:
                # Its digests may all be done already (a flusher wrote them while this
                # claim ran): settled here, under HELD's lock (group_statements.FINALISE).
                await conn.execute(FINALISE, grouped)
        return gone | {r["notification_id"] for r in written}


async def _join(conn: asyncpg.pool.PoolConnectionProxy[Any], joins: Sequence[Join]) -> None:
    """JOIN_GROUPS for the batch's grouped deliveries, sorted as the delivery rows are
    (the statement takes the groups in key order itself)."""
    await conn.execute(
        sql.JOIN_GROUPS,
        [j.notification_id for j in joins],
        [j.endpoint_id for j in joins],
        [j.endpoint_type for j in joins],
        [j.client_id for j in joins],
        [j.rule_id for j in joins],
        [j.kind for j in joins],
        [json.dumps(dict(j.labels)) for j in joins],
        [j.group_key for j in joins],
        [j.group_wait_s for j in joins],
        [j.group_interval_s for j in joins],
        [j.repeat_interval_s for j in joins],
    )
