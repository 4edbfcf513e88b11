"""Removing deleted clients' notifications, batch by batch, after the client row is gone.

``DELETE /api/v1/clients/{id}`` commits the client's removal and a tombstone in one
short transaction (``repo/clients.delete``); the API and the metrics hide the
tombstoned notifications from then on. The request then purges up to
``REQUEST_BATCHES`` batches itself, so a small tenant is gone (and its id free to
create again) when the 204 comes back; what a large tenant leaves is removed by
``run``, the rule-service's background loop, next to the outbox relay. Every batch is
its own short transaction (``repo/purge.py``): no long lock, no long transaction,
whatever the tenant's size; several rule-service instances may purge at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
from prometheus_client import Counter, Gauge

from alerting.aio import run_every
from alerting.services.rule_service.repo import purge as repo

log = logging.getLogger(__name__)

# Batches the DELETE request purges before answering (the rest is the loop's): at the
# default batch size, tenants of up to 10,000 notifications are gone at once.
REQUEST_BATCHES = 10
# How often the loop looks for tombstones; a large tenant's purge then runs to its end.
INTERVAL_S = 5.0
# Tombstones taken per look.
CLIENTS_PER_PASS = 100

PENDING = Gauge(
    "alerting_deleted_clients_pending",
    "Deleted clients whose notifications are still being purged",
)
PURGED = Counter(
    "alerting_purged_notifications_total",
    "Notifications of deleted clients removed (their deliveries with them)",
)


class ClientPurger:
    def __init__(self, pool: asyncpg.Pool[Any], batch_size: int) -> None:
        self._pool = pool
        self._batch_size = batch_size

    async def purge(
        self, client_id: str, max_batches: int | None = None, stop: asyncio.Event | None = None
    ) -> bool:
        """Delete the client's notifications in batches until none is left and its
        tombstone is gone (True), or ``max_batches`` ran, ``stop`` was set or only rows
        a sender holds right now are left (False: a later pass goes on)."""
        batches = 0
        removed = 0
        active = True  # the rows a sender may still claim first (repo.purge.ACTIVE)
        try:
            while max_batches is None or batches < max_batches:
                if stop is not None and stop.is_set():
                    return False
                deleted = await repo.delete_batch(
                    self._pool, client_id, self._batch_size, active=active
                )
                removed += deleted
                if deleted or not active:  # a look for active rows that found none is free
                    batches += 1
                if active:
                    active = deleted == self._batch_size
                elif deleted < self._batch_size:
                    if await repo.finish(self._pool, client_id):
                        log.info("deleted client %s: its notifications are purged", client_id)
                        return True
                    if deleted == 0:
                        return False  # only rows locked by a sender this instant remain
            return False
        finally:
            PURGED.inc(removed)

    async def purge_pending(self, stop: asyncio.Event | None = None) -> int:
        """One pass over the tombstones, oldest first; return how many were finished."""
        finished = 0
        for client_id in await repo.pending(self._pool, CLIENTS_PER_PASS):
            if await self.purge(client_id, stop=stop):
                finished += 1
        PENDING.set(await self._pool.fetchval("SELECT count(*) FROM deleted_clients"))
        return finished

    async def run(self, stop: asyncio.Event) -> None:
        """The background loop: a pass every ``INTERVAL_S`` until ``stop``. A database
        that does not answer is one line per state change (``DependencyLog``), not a
        traceback per pass; the next pass resumes where a failed one stopped."""
        await run_every(
            lambda: self.purge_pending(stop),
            stop,
            INTERVAL_S,
            "purging deleted clients (Postgres)",
            log,
        )
