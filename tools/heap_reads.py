"""Pages read per batch over stored history (docs/performance.md, "Over stored history",
"What reads the heap"): run by hand, not part of the bench.

    .venv/bin/python tools/heap_reads.py load DB 1000000 [--packed] [--fill 90] [--updated]
    .venv/bin/python tools/heap_reads.py batch DB TAG [--sender-rows]
    .venv/bin/python tools/heap_reads.py explain DB TAG [--runs 3] [--try SQL]

``load`` creates DB (dropped first) on the local Postgres, migrates it and loads the
bench's history (bench/history.py) on one connection, in chunks: as the bench does
(room left in every notifications page, ``history.FILL``, the schema's fill factor
restored before the VACUUM), or with ``--packed`` as the bench did before (every page
packed: rows written once, in their final state); ``--fill``: the notifications fill
factor of the schema (in place before, during a ``--packed`` load, and after; default
100), or, with
``--updated``, each chunk's SENT rows then updated twice with a status change (a new,
non-HOT row version each, as the sender's claim and finish make) before the closing
VACUUM: free space like a production heap's, not only each page's leftover bytes;
``--vacuum`` also vacuums the table after every chunk (20,000 rows), as autovacuum
would as it goes, so the next chunks reuse the dead versions' space.

``batch`` runs one batch of 500 new alerts through the aggregator's upsert and the
sender's statements (claim, endpoints, deliveries and attempts, held, finish), each in
its own transaction, and prints per statement the blocks read from outside
shared_buffers (``pg_stat_get_xact_blocks_fetched`` - ``_hit`` deltas, per relation of
the three tables, their indexes and TOAST) and ms, and on how many heap pages the new
rows landed (of them, how many among the pages the history had before the batch).

``explain``: the aggregator's UPSERT for 500 new alerts shaped as the bench's aggregator
case (the FULL plan's rule set, ``bench-c`` clients, one match per alert, ids
``TAG-<run>-<n>``) under ``EXPLAIN (ANALYZE, BUFFERS, WAL, VERBOSE)``, each run in a
transaction rolled back (the rules inserted in it too); per plan node time, rows, loops,
shared buffers hit/read and WAL records, full-page images, bytes (inclusive of the
children), the triggers, and per relation of notifications (heap, each index, TOAST)
the blocks hit/read (xact counter deltas), and the btree levels of its indexes.
``--try SQL`` runs SQL first in each run's transaction (e.g. ``DROP INDEX ...``: a
lever measured without keeping it).

``--sender-rows``: the new alerts shaped as the sender case's (name ``sender``, no
context: ~204 bytes a row, against ~220-236 without), small enough for a packed page's
leftover; which of the two a packed heap's leftovers take decides where the rows land.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import psycopg

from alerting import migrations
from alerting.bench import history
from alerting.domain.model import Alert, AlertMatch, Severity
from alerting.services.aggregator import store
from alerting.services.sender import statements as sql

SERVER = "postgresql://postgres@127.0.0.1:5432"
RELATIONS = """
SELECT c.oid, c.relname::text FROM pg_class c
WHERE c.relname IN ('notifications', 'deliveries', 'delivery_attempts')
UNION SELECT i.indexrelid, ci.relname::text FROM pg_index i
    JOIN pg_class ci ON ci.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relname IN ('notifications', 'deliveries', 'delivery_attempts')
UNION SELECT c.reltoastrelid, 'toast:' || c.relname FROM pg_class c
WHERE c.relname IN ('notifications', 'deliveries', 'delivery_attempts')
    AND c.reltoastrelid <> 0
"""
COUNTERS = (
    "SELECT r, pg_stat_get_xact_blocks_fetched(r) - pg_stat_get_xact_blocks_hit(r),"
    " pg_stat_get_xact_blocks_hit(r) FROM unnest($1::oid[]) r"
)
IDS = "SELECT md5('n' || i)::uuid FROM generate_series($1::bigint, $2::bigint - 1) i"
BLOCKS = (
    "SELECT DISTINCT (ctid::text::point)[0]::int FROM notifications"
    " WHERE notification_id = ANY($1::uuid[])"
)
BATCH = 500
CLIENT = "heap-reads"


async def load(db: str, total: int, fill: int, packed: bool, updated: bool, vacuum: bool) -> None:
    dsn = f"{SERVER}/{db}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{db}"')
        admin.execute(f'CREATE DATABASE "{db}"')
    migrations.apply(dsn)
    conn = await asyncpg.connect(dsn, server_settings={"jit": "off", "work_mem": "64MB"})
    try:
        await conn.execute(f"ALTER TABLE notifications SET (fillfactor = {fill})")
        if not packed:
            await conn.execute(history.RESERVE)
        first = datetime.now(UTC) - timedelta(days=30)
        began = time.monotonic()
        for chunk in history.chunks(total, 20_000):
            await conn.execute(history.LOAD, chunk.lo, chunk.hi, total, first, 30 * 86400.0)
            if updated:
                for old, new in (("SENT", "RETRY"), ("RETRY", "SENT")):
                    await conn.execute(
                        f"UPDATE notifications SET status = '{new}'"
                        f" WHERE notification_id = ANY(ARRAY({IDS})) AND status = '{old}'",
                        chunk.lo,
                        chunk.hi,
                    )
            if vacuum:
                await conn.execute("VACUUM notifications")
        await conn.execute(history.restore(fill))
        loaded_s = time.monotonic() - began
        for statement in history.SETTLE:
            await conn.execute(statement)
        pages = await conn.fetchval("SELECT pg_relation_size('notifications') / 8192")
        print(
            f"{db}: {total:,} in {time.monotonic() - began:.0f}s"
            f" (load {loaded_s:.1f}s, {total / loaded_s:,.0f} notifications/s),"
            f" notifications {pages} pages"
        )
    finally:
        await conn.close()


async def batch(db: str, tag: str, sender_rows: bool) -> None:
    conn = await asyncpg.connect(f"{SERVER}/{db}")
    try:
        await run_batch(conn, tag, sender_rows)
    finally:
        await conn.close()


async def run_batch(conn: asyncpg.Connection[Any], tag: str, sender_rows: bool = False) -> None:
    relations = {r[0]: r[1] for r in await conn.fetch(RELATIONS)}
    oids = list(relations)
    rows: list[tuple[str, float, int, int, dict[str, int]]] = []

    async def measured(label: str, step: Callable[[], Awaitable[Any]]) -> Any:
        before = {r[0]: (r[1], r[2]) for r in await conn.fetch(COUNTERS, oids)}
        began = time.perf_counter()
        result = await step()
        ms = (time.perf_counter() - began) * 1000
        after = {r[0]: (r[1], r[2]) for r in await conn.fetch(COUNTERS, oids)}
        reads = {relations[o]: after[o][0] - before[o][0] for o in oids}
        hits = sum(after[o][1] - before[o][1] for o in oids)
        rows.append((label, ms, sum(reads.values()), hits, {k: v for k, v in reads.items() if v}))
        return result

    if not await conn.fetchval("SELECT count(*) FROM clients WHERE client_id = $1", CLIENT):
        rule = uuid.uuid4()
        await conn.execute("INSERT INTO clients (client_id, name) VALUES ($1, $1)", CLIENT)
        await conn.execute(
            "INSERT INTO rules (rule_id, client_id, severity, source, name)"
            " VALUES ($1, $2, 'HIGH', 's', 'n')",
            rule,
            CLIENT,
        )
        await conn.execute(
            "INSERT INTO endpoints (endpoint_id, rule_id, type, value)"
            " VALUES ($1, $2, 'email', 'ops@example.com')",
            uuid.uuid4(),
            rule,
        )
    rule_id = str(await conn.fetchval("SELECT rule_id FROM rules WHERE client_id = $1", CLIENT))
    old_pages: int = await conn.fetchval("SELECT pg_relation_size('notifications') / 8192")
    now = int(time.time())
    matches = [
        AlertMatch(
            Alert(f"{tag}snd-webhook-{i}", Severity.HIGH, "bench", "sender", now)
            if sender_rows
            else Alert(
                f"{tag}-{i}",
                Severity.HIGH,
                "bench",
                "disk usage above 90 %",
                now,
                context={"host": f"host-{i}"},
            ),
            CLIENT,
            (rule_id,),
        )
        for i in range(BATCH)
    ]

    async def upsert() -> store.Stored:
        await conn.execute(store.BEGIN_LOCKED)
        stored = await store.insert_batch(conn, matches)
        await conn.execute("COMMIT")
        return stored

    async def committed(query: str, *args: Any) -> list[asyncpg.Record]:
        async with conn.transaction():
            return await conn.fetch(query, *args)

    stored = await measured("UPSERT 500 new", upsert)
    ids = [p.notification_id for p in stored.pending]
    landed = {r[0] for r in await conn.fetch(BLOCKS, ids)}
    owner = f"{CLIENT}-sender"
    claims = await measured("CLAIM_READY", lambda: committed(sql.CLAIM_READY, owner, 60.0, ids))
    targets = await measured("ENDPOINTS", lambda: committed(sql.ENDPOINTS, ids))
    lease = {str(r[0]): r["claim_expires_at"] for r in claims}
    endpoint = {r[0]: r[1] for r in targets}
    done = sorted(endpoint)
    n = len(done)
    started = datetime.now(UTC).timestamp()
    async with conn.transaction():
        await measured(
            "RECORD_DELIVERIES",
            lambda: conn.execute(
                sql.RECORD_DELIVERIES,
                done,
                [endpoint[i] for i in done],
                ["email"] * n,
                ["SENT"] * n,
                [None] * n,
                [250] * n,
                [None] * n,
                [started] * n,
                [25] * n,
                [None] * n,
            ),
        )
        held = await measured(
            "HELD", lambda: conn.fetch(sql.HELD, owner, done, [lease[i] for i in done])
        )
        ctids = [r["ctid"] for r in sorted(held, key=lambda r: r["i"]) if r["held"]]
        k = len(ctids)
        await measured(
            "FINISH",
            lambda: conn.fetch(sql.FINISH, ctids, ["SENT"] * k, [0] * k, [None] * k, [0] * k, done),
        )
    finished = {r[0] for r in await conn.fetch(BLOCKS, ids)}
    print(
        f"== {tag}: new rows on {len(landed)} heap pages,"
        f" {sum(b < old_pages - 1 for b in landed)} of them among the {old_pages} pages before;"
        f" after FINISH on {len(finished)}, {sum(b < old_pages - 1 for b in finished)} before"
    )
    for label, ms, read, hit, by in rows:
        top = ", ".join(f"{k} {v}" for k, v in sorted(by.items(), key=lambda kv: -kv[1]))
        print(f"{label:18s} {ms:7.1f} ms  read {read:4d}  hit {hit:5d}  | {top}")


NOTIFICATION_RELATIONS = """
SELECT c.oid, c.relname::text FROM pg_class c WHERE c.relname = 'notifications'
UNION SELECT i.indexrelid, ci.relname::text FROM pg_index i
    JOIN pg_class ci ON ci.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relname = 'notifications'
UNION SELECT c.reltoastrelid, 'toast' FROM pg_class c
WHERE c.relname = 'notifications' AND c.reltoastrelid <> 0
"""


def _nodes(node: dict[str, Any], depth: int = 0) -> list[str]:
    what = node["Node Type"]
    for key in ("Subplan Name", "CTE Name", "Relation Name", "Index Name", "Alias"):
        if key in node and node[key] not in what:
            what += f" {node[key]}"
    if node.get("Parent Relationship") in ("InitPlan", "SubPlan"):
        what = f"[{node['Parent Relationship']}] {what}"
    line = (
        f"{'  ' * depth}{what[:70]:{72 - 2 * depth}s} {node.get('Actual Total Time', 0):8.2f} ms"
        f" rows {node.get('Actual Rows', 0):5.0f} loops {node.get('Actual Loops', 0):4d}"
        f" hit {node.get('Shared Hit Blocks', 0):6d} read {node.get('Shared Read Blocks', 0):5d}"
        f" dirtied {node.get('Shared Dirtied Blocks', 0):4d}"
    )
    if node.get("WAL Records"):
        line += (
            f" wal {node['WAL Records']} records, {node['WAL FPI']} fpi,"
            f" {node['WAL Bytes']:,} bytes"
        )
    out = [line]
    for child in node.get("Plans", []):
        out += _nodes(child, depth + 1)
    return out


async def explain(db: str, tag: str, runs: int, tried: str | None) -> None:
    import json

    from alerting.adapters.postgres import CLIENT_DELETION_LOCK
    from alerting.bench import loading
    from alerting.bench.plan import FULL
    from alerting.bench.ruleset import alerts, rules
    from alerting.domain.matching import RuleIndex

    conn = await asyncpg.connect(f"{SERVER}/{db}", server_settings={"jit": "off"})
    try:
        spec = FULL.spec(FULL.e2e_rules, 1)
        rule_set = rules(spec)
        index = RuleIndex(rule_set)
        relations = {r[0]: r[1] for r in await conn.fetch(NOTIFICATION_RELATIONS)}
        oids = list(relations)
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")  # btree levels
        for run in range(runs):
            batch = alerts(spec, 2 * BATCH, f"{tag}-{run}-", int(time.time()))
            matches = [m for alert in batch for m in index.matches_for(alert)][:BATCH]
            tr = conn.transaction()
            await tr.start()
            try:
                await conn.execute(f"SELECT pg_advisory_xact_lock_shared({CLIENT_DELETION_LOCK})")
                await loading._insert_rules(conn, rule_set, None, "", None)
                if tried:
                    await conn.execute(tried)
                before = {r[0]: (r[1], r[2]) for r in await conn.fetch(COUNTERS, oids)}
                began = time.perf_counter()
                raw = await conn.fetchval(
                    "EXPLAIN (ANALYZE, BUFFERS, WAL, VERBOSE, FORMAT JSON) " + store.UPSERT,
                    *store.arguments(matches),
                )
                ms = (time.perf_counter() - began) * 1000
                after = {r[0]: (r[1], r[2]) for r in await conn.fetch(COUNTERS, oids)}
            finally:
                await tr.rollback()
            top = json.loads(raw)[0]
            print(
                f"== {db} run {run}: {ms:.1f} ms round trip, execution"
                f" {top['Execution Time']:.2f} ms, planning {top['Planning Time']:.2f} ms"
            )
            print("\n".join(_nodes(top["Plan"])))
            for trigger in top.get("Triggers", []):
                name, calls = trigger["Trigger Name"], trigger["Calls"]
                print(f"trigger {name}: {trigger['Time']:.2f} ms, calls {calls}")
            for o in sorted(oids, key=lambda o: relations[o]):
                read = after[o][0] - before[o][0]
                hit = after[o][1] - before[o][1]
                print(f"  {relations[o]:36s} hit {hit:6d} read {read:5d}")
            levels = await conn.fetch(
                "SELECT c.relname::text, (bt_metap(c.relname::text)).level FROM pg_index i"
                " JOIN pg_class c ON c.oid = i.indexrelid"
                " WHERE i.indrelid = 'notifications'::regclass AND $1",
                run == 0,
            )
            for name, level in levels:
                print(f"  btree levels {name}: {level + 1}")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    loading = sub.add_parser("load")
    loading.add_argument("db")
    loading.add_argument("total", type=int)
    loading.add_argument("--fill", type=int, default=100)
    loading.add_argument("--packed", action="store_true")
    loading.add_argument("--updated", action="store_true")
    loading.add_argument("--vacuum", action="store_true")
    batching = sub.add_parser("batch")
    batching.add_argument("db")
    batching.add_argument("tag")
    batching.add_argument("--sender-rows", action="store_true")
    explaining = sub.add_parser("explain")
    explaining.add_argument("db")
    explaining.add_argument("tag")
    explaining.add_argument("--runs", type=int, default=3)
    explaining.add_argument("--try", dest="tried")
    args = parser.parse_args()
    if args.command == "explain":
        asyncio.run(explain(args.db, args.tag, args.runs, args.tried))
    elif args.command == "load":
        asyncio.run(load(args.db, args.total, args.fill, args.packed, args.updated, args.vacuum))
    else:
        asyncio.run(batch(args.db, args.tag, args.sender_rows))


if __name__ == "__main__":
    main()
