"""`alerting bench`: measure each stage alone and the pipeline end to end.

Steps, each with one progress line: in-process matching; the evaluator, aggregator and
sender each started alone on pre-loaded input; then every data-plane service together
at a fixed offered rate (latency) and as fast as ingest takes alerts (throughput); an
alert storm into one grouped rule (digests out, members per digest); and
how long a new rule takes to be live in the evaluators (cold starts, then steady); and
the same alerts through a real Alertmanager and through the platform, side by side; and,
only when `--only` names it, the aggregator and sender again over 10 million stored
notifications (`stored`). It prints a table and writes bench/results/<timestamp>.json;
every process and server it started is stopped at the end, also on Ctrl-C, and its
database is dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

from alerting import config
from alerting.aio import one_line
from alerting.bench import (
    aggregator,
    alertmanager,
    e2e,
    evaluator,
    hot_path,
    liveness,
    matching,
    results,
    sender,
    sinks,
    stored,
    storm,
)
from alerting.bench.environment import BenchEnv, prepare
from alerting.bench.plan import FULL, QUICK, Plan
from alerting.bench.processes import BenchError, Processes
from alerting.config import ConfigError
from alerting.dev import infra

STAGES = (
    "matching",
    "evaluator",
    "aggregator",
    "sender",
    "e2e",
    "storm",
    "liveness",
    "alertmanager",
    "stored",
)
# The 10-million-row history (`stored`) takes minutes to load and gigabytes of disk:
# run only when `--only` names it. `--quick` also leaves out the side-by-side case
# (real Alertmanager, thousands of alerts).
FULL_STAGES = tuple(s for s in STAGES if s != "stored")
QUICK_STAGES = tuple(s for s in FULL_STAGES if s != "alertmanager")


def stage_list(text: str) -> tuple[str, ...]:
    """``--only``'s value: known stage names, comma separated, kept in run order."""
    names = {n.strip() for n in text.split(",") if n.strip()}
    unknown = sorted(names - set(STAGES))
    if unknown or not names:
        given = ", ".join(unknown) or "(none given)"
        raise argparse.ArgumentTypeError(
            f"unknown stage(s) {given}; choose from {', '.join(STAGES)}"
        )
    return tuple(s for s in STAGES if s in names)


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--quick", action="store_true", help="small sizes: finishes in under 2 minutes")
    add("--scale", type=float, default=1.0, help="multiply message counts and durations (1)")
    add("--rate", type=float, help="alerts/s offered for the latency phase (1000)")
    add(
        "--only",
        type=stage_list,
        metavar="STAGES",
        help=f"comma-separated stages to run, of {','.join(STAGES)}"
        " (all but stored; with --quick also not alertmanager)",
    )
    add("--out", type=Path, default=Path("bench/results"), help="results directory")
    add("--data-dir", type=Path, default=Path(".dev/bench"), help="private servers' data")
    add(
        "--keep-database",
        action="store_true",
        help="leave the run's database in place (to inspect the `stored` history); not reused",
    )
    parser.epilog = (
        "Uses Postgres, Redis and Kafka where they answer at the configured addresses\n"
        "(private ones otherwise), in a database, topics and Redis keys of its own.\n\n"
        + config.describe(
            ("ALERTING_KAFKA_BOOTSTRAP", "ALERTING_POSTGRES_DSN", "ALERTING_REDIS_URL")
        )
    )


async def _stages(
    bench: BenchEnv, plan: Plan, only: tuple[str, ...], progress: infra.Progress
) -> dict[str, Any]:
    # SIGTERM cancels the run like Ctrl-C does, so its finally blocks stop the children
    # (asyncio only handles SIGINT, and not at all when started in the background).
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
    stages: dict[str, Any] = {}
    if "matching" in only:
        stages["matching"] = matching.measure(plan, progress)
    if "evaluator" in only:
        stages["evaluator"] = await evaluator.measure(bench, plan, progress)
        stages["evaluator"] += hot_path.measure(plan, progress)
    if "aggregator" in only:
        stages["aggregator"] = await aggregator.measure(bench, plan, progress)
    if "liveness" in only:
        stages["liveness"] = await liveness.measure(bench, plan, progress)
    if not {"sender", "e2e", "storm", "alertmanager", "stored"} & set(only):
        return stages
    procs = Processes(bench.run_id, "sinks")
    try:
        outside = await sinks.start(procs, bench.env)
        await procs.wait_ready()
        if "sender" in only:
            stages["sender"] = await sender.measure(bench, plan, outside, progress)
        if "e2e" in only:
            end_to_end = await e2e.measure(bench, plan, outside, progress)
            stages["e2e"] = [end_to_end["latency"], end_to_end["max"]]
        if "storm" in only:
            stages["storm"] = await storm.measure(bench, plan, outside, progress)
        if "alertmanager" in only:
            stages["alertmanager"] = await alertmanager.measure(bench, plan, outside, progress)
        if "stored" in only:
            stages["stored"] = await stored.measure(bench, plan, outside, progress)
    finally:
        await procs.stop()
    return stages


def run(args: argparse.Namespace) -> int:
    if args.scale <= 0 or (args.rate is not None and args.rate <= 0):
        print("alerting bench: --scale and --rate must be positive", file=sys.stderr)
        return 2
    plan = (QUICK if args.quick else FULL).scaled(args.scale)
    only = args.only or (QUICK_STAGES if args.quick else FULL_STAGES)
    if args.rate is not None:
        plan = dataclasses.replace(plan, e2e_rate=args.rate)
    progress = infra.Progress()
    began, stamp = time.monotonic(), dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        bench = prepare(dict(os.environ), args.data_dir.resolve(), progress)
        bench.keep_database = args.keep_database
    except (infra.InfraError, ConfigError, OSError, psycopg.Error) as exc:
        print(f"alerting bench: {exc}", file=sys.stderr)
        return 1
    try:
        stages = asyncio.run(_stages(bench, plan, only, progress))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("alerting bench: interrupted", file=sys.stderr)
        return 130
    except BenchError as exc:
        print(f"alerting bench: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a server failed mid-run: one line, not a traceback
        print(f"alerting bench: {type(exc).__name__}: {one_line(exc)}", file=sys.stderr)
        return 1
    finally:
        bench.close(progress)
    document = results.assemble(
        stages,
        {
            "mode": plan.mode,
            "only": list(only),
            "started_at": stamp,
            "duration_s": round(time.monotonic() - began, 1),
            "machine": results.machine(),
            "plan": dataclasses.asdict(plan),
            "settings": results.settings_used(bench.env),
        },
    )
    print(results.table(document))
    path = results.write(document, args.out, stamp)
    print(f"wrote {path} ({document['duration_s']:.0f}s)")
    return 0
