"""`alerting topics`: create every topic and its .dlq twin (idempotent)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from alerting import config
from alerting.adapters.kafka import ensure_topics
from alerting.aio import one_line
from alerting.config import Settings, Topics
from alerting.runner import load_settings_or_exit


def all_topics(settings: Settings) -> list[str]:
    return [name for t in settings.topics.all() for name in (t, Topics.dlq(t))]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = config.describe(config.KAFKA_VARS)


def run(args: argparse.Namespace) -> int:
    settings = load_settings_or_exit()
    wanted = all_topics(settings)
    try:
        created = asyncio.run(asyncio.wait_for(ensure_topics(settings.kafka, wanted), 60))
    except Exception as exc:
        print(f"alerting topics: {settings.kafka.bootstrap}: {one_line(exc)}", file=sys.stderr)
        return 1
    for topic in wanted:
        print(f"{'created' if topic in created else 'exists '}  {topic}")
    print(f"{len(wanted)} topics ready ({settings.kafka.partitions} partitions each when created)")
    return 0
