"""`alerting config`: validate the environment's settings, or print the settings table."""

from __future__ import annotations

import argparse

from alerting import config
from alerting.runner import load_settings_or_exit


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--markdown", action="store_true", help="print every setting as a Markdown table"
    )


def run(args: argparse.Namespace) -> int:
    if args.markdown:
        print(config.markdown_table())
        return 0
    settings = load_settings_or_exit()
    print(f"settings are valid: {settings!r}")
    return 0
