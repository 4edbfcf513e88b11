"""`alerting secrets`: the keys that seal stored endpoint secrets, and their rotation.

``rotate`` re-seals every stored secret (``alerting.sealed.SEALED_COLUMNS``) that is not
sealed with the current key, the first of ``ALERTING_SECRET_KEYS``: rows written before
sealing (plain text) and rows sealed with an older key alike. It is the migration to
sealed storage and the rotation procedure at once (docs/deployment.md, "Secrets at
rest and key rotation"): the new key is first added after the old one and rolled out,
so every service can open what any other seals, then moved first and rolled out again;
``rotate`` then re-seals, and ``status`` exits 0 once the old key may be dropped.

Batches are small transactions in id order, so the command holds few row locks at a
time, can be stopped and re-run at any point (it only touches what is not current yet),
and runs while the platform serves.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from typing import Any

import asyncpg

from alerting import config, secret_keys
from alerting.aio import one_line
from alerting.config import ConfigError
from alerting.runner import load_settings_or_exit
from alerting.sealed import PREFIX, SEALED_COLUMNS, Keyring, SealedColumn, SealError, key_id_of

DEFAULT_BATCH = 200
PLAIN = "(plain text)"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    rotate = sub.add_parser(
        "rotate", help="re-seal every stored secret with the current (first) key"
    )
    rotate.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH,
        help=f"rows per transaction ({DEFAULT_BATCH})",
    )
    sub.add_parser("status", help="count stored secrets by the key that seals them")
    new_key = sub.add_parser("new-key", help="print a new <key id>:<base64 key> entry")
    new_key.add_argument("--key-id", help="the key's id (default: k<UTC date and time>)")
    parser.epilog = config.describe(("ALERTING_SECRET_KEYS", *config.POSTGRES_VARS))


def run(args: argparse.Namespace) -> int:
    if args.action == "new-key":
        return _new_key(args.key_id)
    settings = load_settings_or_exit()
    try:
        keyring = Keyring.from_settings(settings)
    except ConfigError as exc:
        print(f"alerting secrets: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.action == "status":
            return asyncio.run(_status(settings.postgres_dsn, keyring))
        if args.batch_size < 1:
            print("alerting secrets: --batch-size must be at least 1", file=sys.stderr)
            return 2
        return asyncio.run(_rotate(settings.postgres_dsn, keyring, args.batch_size))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        target = config.redact(settings.postgres_dsn)
        print(f"alerting secrets: {target}: {one_line(exc)}", file=sys.stderr)
        return 1


def _new_key(key_id: str | None) -> int:
    key_id = key_id or time.strftime("k%Y%m%d%H%M", time.gmtime())
    if not secret_keys.KEY_ID.fullmatch(key_id):
        print("alerting secrets: --key-id must be 1-32 letters, digits, '.', '_' or '-'",
              file=sys.stderr)  # fmt: skip
        return 2
    print(secret_keys.new_entry(key_id))
    return 0


def _select(column: SealedColumn) -> str:
    # Names come from SEALED_COLUMNS (code, not input). NO KEY UPDATE is the lock the
    # UPDATE (of a non-key column) takes anyway; FOR UPDATE would also wait for the
    # key-share locks of foreign-key checks, should a table ever reference the sealed
    # rows (none does: deliveries.endpoint_id has no foreign key, see migration 0001).
    # The key id is compared exactly (split_part), never with LIKE: '_' is allowed in
    # key ids and would be a wildcard there. Keyset pagination on the primary key: each
    # batch is an index range, never a re-scan of the rows already done.
    key, typ, col = column.id_column, column.id_type, column.column
    return (
        f"SELECT {key} AS id, {col} AS stored FROM {column.table}"
        f" WHERE {col} IS NOT NULL"
        f" AND (NOT starts_with({col}, $1) OR split_part({col}, ':', 2) <> $2)"
        f" AND ($3::{typ} IS NULL OR {key} > $3::{typ})"
        f" ORDER BY {key} LIMIT $4 FOR NO KEY UPDATE"
    )


def _update(column: SealedColumn) -> str:
    # The stored value must still be the one read: a concurrent change wins.
    return (
        f"UPDATE {column.table} t SET {column.column} = x.sealed"
        f" FROM unnest($1::{column.id_type}[], $2::text[], $3::text[]) AS x(id, stored, sealed)"
        f" WHERE t.{column.id_column} = x.id AND t.{column.column} = x.stored"
    )


async def _rotate(dsn: str, keyring: Keyring, batch_size: int) -> int:
    conn: asyncpg.Connection[Any] = await asyncpg.connect(dsn)
    try:
        unopened: Counter[str] = Counter()
        for column in SEALED_COLUMNS:
            await _rotate_column(conn, keyring, column, batch_size, unopened)
        await _print_census(conn, keyring)
    finally:
        await conn.close()
    if unopened:
        listed = ", ".join(f"{n} under {kid!r}" for kid, n in sorted(unopened.items()))
        print(
            f"alerting secrets: {sum(unopened.values())} secret(s) left as they were, they"
            f" do not open with ALERTING_SECRET_KEYS ({listed}): add their key (after the"
            " current one) and run again",
            file=sys.stderr,
        )
        return 1
    return 0


async def _rotate_column(
    conn: asyncpg.Connection[Any],
    keyring: Keyring,
    column: SealedColumn,
    batch_size: int,
    unopened: Counter[str],
) -> None:
    name = f"{column.table}.{column.column}"
    select, update = _select(column), _update(column)
    after: object = None
    done = 0
    print(f"{name}: re-sealing with key {keyring.current!r}", flush=True)
    while True:
        async with conn.transaction():
            rows = await conn.fetch(select, PREFIX, keyring.current, after, batch_size)
            if not rows:
                break
            after = rows[-1]["id"]
            ids, stored, sealed = [], [], []
            for row in rows:
                binding = column.binding(row["id"])
                try:
                    secret = keyring.open(row["stored"], binding)
                except SealError:
                    unopened[key_id_of(row["stored"]) or PLAIN] += 1
                    continue
                ids.append(row["id"])
                stored.append(row["stored"])
                sealed.append(keyring.seal(secret, binding))
            status = await conn.execute(update, ids, stored, sealed) if ids else "UPDATE 0"
        done += int(status.rsplit(" ", 1)[-1])
        print(f"{name}: {done} re-sealed so far", flush=True)
    print(f"{name}: done, {done} re-sealed", flush=True)


async def _census(conn: asyncpg.Connection[Any], column: SealedColumn) -> dict[str, int]:
    rows = await conn.fetch(
        f"SELECT CASE WHEN {column.column} LIKE $1 THEN split_part({column.column}, ':', 2)"
        f" ELSE $2 END AS key_id, count(*) AS n FROM {column.table}"
        f" WHERE {column.column} IS NOT NULL GROUP BY 1 ORDER BY 1",
        f"{PREFIX}%",
        PLAIN,
    )
    return {r["key_id"]: r["n"] for r in rows}


async def _print_census(conn: asyncpg.Connection[Any], keyring: Keyring) -> bool:
    """Print how many secrets each key seals; True when all are under the current one."""
    all_current = True
    for column in SEALED_COLUMNS:
        counts = await _census(conn, column)
        parts = [
            f"{n} {kid}" + (" (current)" if kid == keyring.current else "")
            for kid, n in counts.items()
        ]
        print(f"{column.table}.{column.column}: {', '.join(parts) or 'none stored'}")
        all_current &= set(counts) <= {keyring.current}
    return all_current


async def _status(dsn: str, keyring: Keyring) -> int:
    conn: asyncpg.Connection[Any] = await asyncpg.connect(dsn)
    try:
        return 0 if await _print_census(conn, keyring) else 1
    finally:
        await conn.close()
