"""`alerting evaluator`: alerts.new -> match against the rule snapshot -> alerts.matched.

One `AlertMatched` per (alert, client), keyed by client_id so one client's matches stay
ordered on one partition. The batch's matches are produced and acknowledged before the
consume loop commits the alerts, so a crash at any point re-reads them (duplicates are
absorbed by the aggregator's unique (client_id, alert_id)).
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from prometheus_client import Counter

from alerting import codec, config
from alerting.adapters import redis as redis_adapter
from alerting.adapters.kafka import BatchProducer, ConsumeLoop, OutMessage, Record
from alerting.aio import retry_until_stopped
from alerting.config import Settings
from alerting.domain.model import Alert
from alerting.http import health_app, serve
from alerting.runner import run_service
from alerting.services.evaluator.live_rules import LiveRules

log = logging.getLogger("alerting.evaluator")
NAME = "evaluator"

MATCHES = Counter("alerting_evaluator_matches_total", "AlertMatched messages produced")
UNMATCHED = Counter("alerting_evaluator_unmatched_alerts_total", "Alerts no rule matched")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = config.describe(
        (
            *config.KAFKA_VARS,
            "ALERTING_CONSUMER_GROUP",
            "ALERTING_BATCH_SIZE",
            *config.REDIS_VARS,
            "ALERTING_HTTP_HOST",
            "ALERTING_EVALUATOR_PORT",
            *config.LOG_VARS,
        )
    )


class Evaluator:
    def __init__(self, rules: LiveRules, producer: BatchProducer, topic: str) -> None:
        self._rules = rules
        self._producer = producer
        self._topic = topic

    async def handle(self, records: list[Record[Alert]]) -> None:
        index = self._rules.index  # one index for the whole batch, even if a refresh lands
        if index is None:
            raise RuntimeError("no rule index loaded")  # cannot happen: consumption waits
        out: list[OutMessage] = []
        unmatched = 0
        for record in records:
            found = index.matches_for(record.value)
            if not found:
                unmatched += 1
            for match in found:
                out.append(
                    OutMessage(self._topic, match.client_id.encode(), codec.encode_match(match))
                )
        await self._producer.send_batch(out)
        MATCHES.inc(len(out))
        UNMATCHED.inc(unmatched)


async def main(settings: Settings, stop: asyncio.Event) -> None:
    client = redis_adapter.create_client(settings)
    rules = LiveRules(client, redis_adapter.keys(settings))
    producer = BatchProducer(settings.kafka)
    evaluator = Evaluator(rules, producer, settings.topics.alerts_matched)
    loop = ConsumeLoop(
        kafka=settings.kafka,
        topics=[settings.topics.alerts_new],
        group_id=settings.group_id(NAME),
        decode=codec.decode_alert,
        handle=evaluator.handle,
        producer=producer,
        service=NAME,
    )

    async def redis_ping() -> None:
        await client.ping()

    app = health_app(
        {"rules": rules.check, "redis": redis_ping, "kafka": loop.check, "producer": producer.check}
    )

    async def work() -> None:
        # Not a single alert is taken before the rules are known: matching against an
        # empty index would silently drop every notification of the warm-up window.
        if not await rules.wait_loaded(stop):
            return
        if not await retry_until_stopped(producer.start, stop, "Kafka producer"):
            return
        try:
            await asyncio.gather(loop.run(stop), rules.follow(stop))
        finally:
            await producer.stop()

    try:
        await asyncio.gather(serve(app, settings.http_host, settings.port(NAME), stop), work())
    finally:
        await client.aclose()


def run(args: argparse.Namespace) -> int:
    return run_service(NAME, main)
