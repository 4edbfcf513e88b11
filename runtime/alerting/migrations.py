"""Schema migrations with yoyo, serialised by a Postgres advisory lock.

yoyo has its own lock row, but creating its bookkeeping tables races when two
migrators start at once, and a migrator killed mid-run leaves its lock row behind.
Holding a session advisory lock around the whole run fixes both: only one migrator
runs, and any yoyo lock row seen while holding it is stale and can be broken.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from yoyo import get_backend, read_migrations

log = logging.getLogger(__name__)

# Arbitrary but fixed: the advisory lock key every `alerting migrate` agrees on.
ADVISORY_LOCK_KEY = 0x616C657274  # "alert"
# How often a migrator waiting for another one tries the lock again.
LOCK_POLL_S = 0.2


def migrations_dir() -> Path:
    packaged = Path(__file__).parent / "_migrations"
    if packaged.is_dir():
        return packaged
    source = Path(__file__).resolve().parents[2] / "migrations"
    if source.is_dir():
        return source
    raise FileNotFoundError("migrations not found (neither packaged nor in the source tree)")


def _database_name(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/") or "postgres"


def _with_database(dsn: str, database: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{database}"))


def ensure_database(dsn: str) -> bool:
    """Create the target database when it does not exist; True if created."""
    try:
        psycopg.connect(dsn, connect_timeout=10).close()
        return False
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    name = _database_name(dsn)
    with psycopg.connect(_with_database(dsn, "postgres"), autocommit=True) as conn:
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return False  # a concurrent migrator created it
    return True


@contextmanager
def _advisory_lock(dsn: str) -> Iterator[None]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        # Tried, not waited for: a statement waiting for the lock holds a snapshot, and
        # the holder's CREATE INDEX CONCURRENTLY (migration 0013) waits until every older
        # snapshot in the database is gone: the two would wait for each other forever,
        # unseen by Postgres' deadlock check (the lock is held by the holder's other,
        # idle connection, not by the backend that waits).
        while not _locked(conn):
            time.sleep(LOCK_POLL_S)
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))


def _locked(conn: psycopg.Connection[tuple[bool]]) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,)).fetchone()
    return bool(row and row[0])


def _yoyo_uri(dsn: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(scheme="postgresql+psycopg"))


def pending(dsn: str) -> list[str]:
    backend = get_backend(_yoyo_uri(dsn))
    try:
        return [m.id for m in backend.to_apply(read_migrations(str(migrations_dir())))]
    finally:
        backend.connection.close()


def apply(dsn: str) -> list[str]:
    """Apply every pending migration; return their ids (empty when up to date)."""
    if ensure_database(dsn):
        log.info("created database %s", _database_name(dsn))
    with _advisory_lock(dsn):
        backend = get_backend(_yoyo_uri(dsn))
        try:
            backend.break_lock()  # stale by construction: we hold the advisory lock
            migrations = read_migrations(str(migrations_dir()))
            with backend.lock():
                todo = backend.to_apply(migrations)
                backend.apply_migrations(todo)
            return [m.id for m in todo]
        finally:
            backend.connection.close()
