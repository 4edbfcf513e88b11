"""The plans of every reader of the per-client indexes of notifications, measured
(docs/performance.md, "The client indexes merged"): run by hand, not part of the bench.

    .venv/bin/python tools/list_plans.py DB [--client hist-c10] [--generic] [--try SQL]

Each statement as its repo function builds it (the tenant lists with their filters, the
bulk re-drive of one client, the purge's batches, the metrics' counts) runs under
``EXPLAIN (ANALYZE, BUFFERS)`` in a transaction rolled back, on DB as ``heap_reads.py
load`` makes it; printed per statement: execution ms, shared blocks hit and read, rows,
and the indexes, sequential scans and sorts of its plan. ``--generic``: the plans a
prepared statement gets from its sixth run (``plan_cache_mode = force_generic_plan``).
``--try SQL`` runs first in each transaction (``DROP INDEX ...``: another index set,
measured without keeping it). The bench history's client ``hist-c10`` has FAILED and
SUPPRESSED rows; ``hist-c7`` has neither.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from alerting.services.metrics.counts import COUNTS_SQL
from alerting.services.rule_service.cursor import Position
from alerting.services.rule_service.repo import notifications as repo
from alerting.services.rule_service.repo import purge

SERVER = "postgresql://postgres@127.0.0.1:5432"
Statement = tuple[str, str, tuple[Any, ...]]


class Recorder:
    """An executor that keeps the statements a repo function sends, and answers nothing."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        self.calls.append((sql, args))
        return []

    async def fetchval(self, sql: str, *args: Any) -> Any:
        self.calls.append((sql, args))
        return None


async def statements(client: str) -> list[Statement]:
    now = datetime.now(UTC)
    middle = Position(now - timedelta(days=15), "ffffffff-0000-0000-0000-000000000000")
    lists: list[tuple[str, dict[str, Any]]] = [
        ("list", {}),
        ("list, newest first", {"newest_first": True}),
        ("list after a position", {"after": middle}),
        ("list after, newest first", {"after": middle, "newest_first": True}),
        ("list FAILED", {"status": "FAILED"}),
        ("list FAILED, newest first", {"status": "FAILED", "newest_first": True}),
        ("list PENDING", {"status": "PENDING"}),
        ("list SENT, newest first", {"status": "SENT", "newest_first": True}),
        ("list SUPPRESSED", {"status": "SUPPRESSED"}),
        ("list since/until", {"since": now - timedelta(days=3), "until": now - timedelta(days=2)}),
        ("list alert_id", {"alert_id": "hist-7007-3"}),
        ("list kind resolved", {"kind": "resolved"}),
    ]
    out: list[Statement] = []
    for label, filters in lists:
        recorded = Recorder()
        await repo.page(
            recorded,
            client_id=client,
            status=filters.pop("status", None),
            after=filters.pop("after", None),
            limit=50,
            **filters,
        )
        out.append((label, *recorded.calls[0]))
    recorded = Recorder()
    await repo.failed_to_redrive(recorded, repo.RedriveFilter(client_id=client), None, 100)
    out += [("re-drive batch", *recorded.calls[0]), ("re-drive more", *recorded.calls[1])]
    out.append(("purge batch, active", purge.PURGE_BATCH.format(only=purge.ACTIVE), (client, 500)))
    out.append(("purge batch", purge.PURGE_BATCH.format(only=""), (client, 500)))
    out.append(("purge finish", purge.FINISH, (client,)))
    out.append(("metrics counts", COUNTS_SQL, ()))
    return out


def scans(node: dict[str, Any]) -> list[str]:
    kind = node["Node Type"]
    found = []
    if "Index Name" in node:
        found.append(f"{kind}:{node['Index Name']}")
    elif kind in ("Seq Scan", "Sort"):
        found.append(f"{kind}:{node.get('Relation Name', '')}".rstrip(":"))
    for child in node.get("Plans", []):
        found += scans(child)
    return found


async def main(db: str, client: str, generic: bool, tried: str | None) -> None:
    conn = await asyncpg.connect(f"{SERVER}/{db}")
    try:
        for label, sql, args in await statements(client):
            tr = conn.transaction()
            await tr.start()
            try:
                if tried:
                    await conn.execute(tried)
                if generic:
                    await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
                raw = await conn.fetchval("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, *args)
            finally:
                await tr.rollback()
            top = json.loads(raw)[0]
            plan = top["Plan"]
            print(
                f"{label:26s} {top['Execution Time']:8.2f} ms hit {plan['Shared Hit Blocks']:6d}"
                f" read {plan['Shared Read Blocks']:6d} rows {plan['Actual Rows']:5.0f}"
                f"  {' '.join(scans(plan))}"
            )
    finally:
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("db")
    parser.add_argument("--client", default="hist-c10")
    parser.add_argument("--generic", action="store_true")
    parser.add_argument("--try", dest="tried")
    args = parser.parse_args()
    asyncio.run(main(args.db, args.client, args.generic, args.tried))
