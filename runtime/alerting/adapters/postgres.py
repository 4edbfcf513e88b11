"""Postgres connections: the asyncpg pool the services use."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from alerting.config import Settings


async def _init_connection(conn: asyncpg.Connection[Any]) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(settings: Settings, *, min_size: int = 1) -> asyncpg.Pool[Any]:
    pool = await asyncpg.create_pool(
        settings.postgres_dsn,
        min_size=min_size,
        max_size=max(min_size, settings.postgres_pool_size),
        init=_init_connection,
        command_timeout=30,
    )
    assert pool is not None
    return pool


def readiness(pool: asyncpg.Pool[Any]) -> Any:
    async def check() -> None:
        await pool.fetchval("SELECT 1")

    return check
