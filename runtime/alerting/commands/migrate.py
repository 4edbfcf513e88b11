"""`alerting migrate`: bring the Postgres schema up to date (idempotent, concurrency-safe)."""

from __future__ import annotations

import argparse
import sys

from alerting import config, migrations
from alerting.aio import one_line
from alerting.runner import load_settings_or_exit


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check", action="store_true", help="list pending migrations and exit 1 if any"
    )
    parser.epilog = config.describe(config.POSTGRES_VARS)


def run(args: argparse.Namespace) -> int:
    settings = load_settings_or_exit()
    target = config.redact(settings.postgres_dsn)
    try:
        if args.check:
            todo = migrations.pending(settings.postgres_dsn)
            for mid in todo:
                print(f"pending: {mid}")
            print(f"{len(todo)} pending migration(s) on {target}")
            return 1 if todo else 0
        applied = migrations.apply(settings.postgres_dsn)
    except Exception as exc:  # one clear line for the operator, not a stack trace
        print(f"alerting migrate: {target}: {one_line(exc)}", file=sys.stderr)
        return 1
    for mid in applied:
        print(f"applied: {mid}")
    print(f"schema up to date on {target} ({len(applied)} applied)")
    return 0
