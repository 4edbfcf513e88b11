"""The ``stored`` stage: do the aggregator and the sender keep their throughput over
weeks of history? Each case runs on the run's (nearly) empty database, then the history
is loaded (``plan.stored_notifications`` over ``plan.stored_days``, bench/history.py)
and settled as autovacuum would, and the same cases run again; the figures are reported
side by side with their ratio (over_history.py).

The history lives in the run's own database, dropped with it at the end of the run
(environment.BenchEnv.close): nothing is reused between runs, so nothing accumulates,
and every run pays the load (minutes at 10 million; progress lines show rate and ETA).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from alerting.bench import aggregator, history, over_history, sender
from alerting.bench.environment import BenchEnv
from alerting.bench.plan import Plan
from alerting.bench.sinks import Sinks
from alerting.dev.infra import Progress

# Two loaders keep both of a small machine's cores busy (Postgres is the work).
LOADERS = 2
CHUNK = 100_000
PROGRESS_EVERY_S = 10.0
TABLES = ("notifications", "deliveries", "delivery_attempts")
SIZE = "SELECT sum(pg_total_relation_size(t::regclass))::bigint FROM unnest($1::text[]) t"


async def load(dsn: str, plan: Plan, progress: Progress) -> dict[str, Any]:
    """The history, chunk by chunk over ``LOADERS`` connections; then settled. The
    ``load`` case: notifications per second and the bytes the three tables take."""
    total = plan.stored_notifications
    todo = history.chunks(total, CHUNK)
    per_row = sum(history.rows_per_notification().values())
    first = datetime.now(UTC) - timedelta(days=plan.stored_days)
    span_s = plan.stored_days * 86400.0
    # JIT compiles every chunk's statement again: half a second each, for nothing here.
    # A chunk's rows are sorted (history.ROWS): in memory, not in temporary files.
    pool = await asyncpg.create_pool(
        dsn,
        min_size=LOADERS,
        max_size=LOADERS,
        server_settings={"jit": "off", "work_mem": "64MB"},
    )
    began = last = time.monotonic()
    done = 0

    async def loader() -> None:
        nonlocal done, last
        while todo:
            chunk = todo.pop(0)
            await pool.execute(history.LOAD, chunk.lo, chunk.hi, total, first, span_s)
            done += chunk.hi - chunk.lo
            now = time.monotonic()
            if now - last >= PROGRESS_EVERY_S or done == total:
                last = now
                progress(over_history.eta_line(done, total, round(done * per_row), now - began))

    try:
        # Room left in every notifications page, as production's status changes leave
        # it (history.FILL); the schema's fill factor back before the VACUUM.
        fillfactor: int | None = await pool.fetchval(history.FILLFACTOR)
        await pool.execute(history.RESERVE)
        try:
            progress(f"history: loading {total:,} notifications over {plan.stored_days} days")
            await asyncio.gather(*(loader() for _ in range(LOADERS)))
        finally:
            await pool.execute(history.restore(fillfactor))
        loaded_s = time.monotonic() - began
        progress("history: VACUUM (ANALYZE), as autovacuum would on a production database")
        for statement in history.SETTLE:
            await pool.execute(statement)
        size: int = await pool.fetchval(SIZE, list(TABLES))
    finally:
        await pool.close()
    rate = total / loaded_s
    progress(f"history: {total:,} notifications in {loaded_s:.0f}s, {size / 1e9:.2f} GB")
    return {
        "case": f"history: {total:,} notifications over {plan.stored_days} days",
        "phase": "load",
        "measure": "load",
        "items": total,
        "rows": round(total * per_row),
        "seconds": round(loaded_s, 1),
        "per_s": round(rate, 1),
        "bytes": size,
        "figure": f"{rate:,.0f} notifications/s loaded, {size / 1e9:.2f} GB",
    }


async def phase(
    bench: BenchEnv, plan: Plan, sinks: Sinks, progress: Progress, name: str, seed: int
) -> list[dict[str, Any]]:
    """The aggregator case (no silences) and the sender's cases, under their own names."""
    agg = await aggregator.measure_one(bench, plan, progress, tag=f"{name}-")
    sent = await sender.measure(bench, plan, sinks, progress, tag=f"{name}-", seed=seed)
    return over_history.tagged([agg], name, "aggregator") + over_history.tagged(
        sent, name, "sender"
    )


async def measure(
    bench: BenchEnv, plan: Plan, sinks: Sinks, progress: Progress
) -> list[dict[str, Any]]:
    empty = await phase(bench, plan, sinks, progress, "empty", seed=31)
    loaded = await load(bench.settings.postgres_dsn, plan, progress)
    stored = await phase(bench, plan, sinks, progress, "stored", seed=41)
    out = [*over_history.compared(empty, stored), loaded]
    for c in out:
        if c["phase"] == "ratio":
            progress(f"over history, {c['case']}: {c['figure']}")
    return out
