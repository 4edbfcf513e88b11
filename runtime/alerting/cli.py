"""`alerting <command>`: one console script for every service and tool.

Commands are imported only when chosen, so `alerting --help` stays fast and a tool's
heavy dependencies (boto3 for deploy, the broker for dev) are not loaded by services.
Each command module exposes ``configure(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from alerting import roster


class CommandModule(Protocol):
    def configure(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


@dataclass(frozen=True)
class Command:
    name: str
    module: str
    summary: str


# The platform's services come from the roster; these are the tools around them.
TOOLS: tuple[Command, ...] = (
    Command("migrate", "alerting.commands.migrate", "apply the Postgres schema migrations"),
    Command("topics", "alerting.commands.topics", "create the Kafka topics and their .dlq twins"),
    Command("config", "alerting.commands.config", "check and print the settings"),
    Command(
        "secrets", "alerting.commands.secrets", "seal stored endpoint secrets; rotate their key"
    ),
    Command("sinks", "alerting.commands.sinks", "run local SMTP and webhook sinks (development)"),
    Command(
        "loadgen", "alerting.commands.loadgen", "post generated alerts to ingest at a given rate"
    ),
    Command("dev", "alerting.dev.main", "run the whole platform locally with its infrastructure"),
    Command("deploy", "alerting.deploy.cli", "roll out, migrate and report on AWS"),
    Command(
        "bench", "alerting.bench.main", "measure each stage's throughput and end-to-end latency"
    ),
)
COMMANDS: tuple[Command, ...] = (
    *(Command(s.name, s.module, s.summary) for s in roster.SERVICES),
    *TOOLS,
)


def _top_parser() -> argparse.ArgumentParser:
    width = max(len(c.name) for c in COMMANDS)
    listing = "\n".join(f"  {c.name.ljust(width)}  {c.summary}" for c in COMMANDS)
    return argparse.ArgumentParser(
        prog="alerting",
        description="Multi-tenant alert-notification platform.",
        epilog=f"commands:\n{listing}\n\nRun `alerting <command> --help` for its settings.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    by_name = {c.name: c for c in COMMANDS}
    if not args or args[0] not in by_name:
        parser = _top_parser()
        if args and not args[0].startswith("-"):
            parser.print_usage(sys.stderr)
            print(f"alerting: unknown command {args[0]!r}", file=sys.stderr)
            return 2
        parser.parse_args(args)  # handles --help
        parser.print_help()
        return 2
    command = by_name[args[0]]
    module: CommandModule = importlib.import_module(command.module)
    parser = argparse.ArgumentParser(
        prog=f"alerting {command.name}",
        description=command.summary[0].upper() + command.summary[1:] + ".",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.configure(parser)
    return module.run(parser.parse_args(args[1:]))


if __name__ == "__main__":
    sys.exit(main())
