"""Postgres connections: the asyncpg pool the services use."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from alerting.config import Settings

# Every statement is planned with its parameters' values: statements are not kept
# prepared (asyncpg's statement cache is off), so each run is parsed and planned afresh,
# never from a *generic* plan. A prepared statement would switch to one from its sixth
# run, made without the values and kept until the table's statistics change: per-batch
# statements first run on tables that are still (nearly) empty, and a plan made then
# must not outlive the emptiness (nothing replans it while autovacuum is off or behind).
# Postgres' own foreign-key checks (a key-share probe of the parent's primary key per
# inserted row) keep their cached plans: forcing custom plans on the whole session
# (plan_cache_mode) replanned each of them, several times the check itself. The price
# is one Parse/Describe round trip per statement run; figures in docs/performance.md.
# Unnamed statements also suit a pooler in front of Postgres (PgBouncer in transaction
# mode), which cannot keep a connection's prepared statements.
STATEMENT_CACHE_SIZE = 0
SERVER_SETTINGS: dict[str, str] = {}

# A pool whose every write may be lost on a Postgres crash without breaking a promise
# commits without waiting for its WAL to reach the disk (synchronous_commit=off). What a
# crash can lose is the last few hundred milliseconds of commits, never their order nor a
# half: Postgres recovers to a consistent earlier point. The sender's pool is such a
# pool (docs/sender.md, "Commits the sender does not wait for"): each of its writes moves
# a notification the sender already owns, and losing one only makes the row be sent
# again, which at-least-once delivery allows. The aggregator's INSERT is not: its Kafka
# offsets are committed after it, so a lost row would be a lost notification.
# It is sent as a startup parameter: a pooler in front of Postgres must pass it through
# (PgBouncer refuses it unless listed in ignore_startup_parameters, and then drops it:
# the sender's commits wait for the flush as everyone's do, slower, never less safe).
ASYNC_COMMIT_SETTINGS = {**SERVER_SETTINGS, "synchronous_commit": "off"}

# What Postgres being away looks like to a client, as opposed to a statement that is
# wrong: refused, reset or timed-out sockets (the pool's connect and command timeouts), a
# connection lost mid-statement or a pool closing (InterfaceError; asyncpg also raises a
# bare one for misuse such as a wrong argument count, which the statement tests catch), a
# server shutting down, restarting or terminating its backends (57P01-57P03, operator
# intervention), no connection slot (insufficient resources). Callers that can answer
# from what they had (the key cache) or try again later (the sender's outcome write) catch
# exactly these; a constraint violation or a bug is none of them.
UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.InsufficientResourcesError,
)


async def _init_connection(conn: asyncpg.Connection[Any]) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(
    settings: Settings, *, min_size: int = 1, async_commit: bool = False
) -> asyncpg.Pool[Any]:
    pool = await asyncpg.create_pool(
        settings.postgres_dsn,
        min_size=min_size,
        max_size=max(min_size, settings.postgres_pool_size),
        init=_init_connection,
        command_timeout=30,
        statement_cache_size=STATEMENT_CACHE_SIZE,
        server_settings=ASYNC_COMMIT_SETTINGS if async_commit else SERVER_SETTINGS,
    )
    assert pool is not None
    return pool


def readiness(pool: asyncpg.Pool[Any]) -> Any:
    async def check() -> None:
        await pool.fetchval("SELECT 1")

    return check


# Deleting a client and storing notifications exclude each other through this advisory
# lock (a transaction-level one, so it ends with the transaction): the aggregator's batch
# holds it shared, a client deletion exclusively. A deletion thus waits for the batches
# in flight (one statement each) and the batches after it see the deletion, so the purge
# that follows the deletion finds every row of the client there will ever be. One key for
# all clients: deletions are rare admin actions, and a per-client key would take one lock
# table entry per client of a batch. The key is "clidel" in ASCII.
CLIENT_DELETION_LOCK = 0x636C6964656C
