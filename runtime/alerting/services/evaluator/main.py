"""`alerting evaluator`: alerts.new -> match against the rule snapshot -> alerts.matched.

One `AlertMatched` per (alert, client), keyed by client_id so one client's matches stay
ordered on one partition, naming the client's silences that mute the alert (the
aggregator stores such a notification SUPPRESSED). The batch's matches are produced
and acknowledged before the consume loop commits the alerts, so a crash at any point
re-reads them (duplicates are absorbed by the aggregator's unique constraint).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from prometheus_client import Counter

from alerting import codec
from alerting.adapters import redis as redis_adapter
from alerting.adapters.kafka import BatchProducer, OutMessage, Record
from alerting.config import Settings
from alerting.services.entry import service_command
from alerting.services.evaluator.live_rules import LiveRules
from alerting.services.evaluator.silencing import Instant
from alerting.services.stage import Stage, run_stage

log = logging.getLogger("alerting.evaluator")
NAME = "evaluator"

MATCHES = Counter("alerting_evaluator_matches_total", "AlertMatched messages produced")
UNMATCHED = Counter("alerting_evaluator_unmatched_alerts_total", "Alerts no rule matched")


class Evaluator:
    def __init__(self, rules: LiveRules, producer: BatchProducer, topic: str) -> None:
        self._rules = rules
        self._producer = producer
        self._topic = topic

    async def handle(self, records: list[Record[codec.WireAlert]]) -> None:
        matcher = self._rules.matcher  # one for the whole batch, even if a refresh lands
        if matcher is None:
            raise RuntimeError("no rule index loaded")  # cannot happen: consumption waits
        topic = self._topic
        at = Instant(datetime.now(UTC))  # one instant decides every silence of the batch
        out: list[OutMessage] = []
        unmatched = 0
        for record in records:
            found = matcher.matches(record.value, at)
            if not found:
                unmatched += 1
            for key, value in found:
                out.append(OutMessage(topic, key, value))
        await self._producer.send_batch(out)
        MATCHES.inc(len(out))
        UNMATCHED.inc(unmatched)


async def main(settings: Settings, stop: asyncio.Event) -> None:
    client = redis_adapter.create_client(settings)
    rules = LiveRules(client, redis_adapter.keys(settings))
    producer = BatchProducer(settings.kafka)

    async def redis_ping() -> None:
        await client.ping()

    stage = Stage(
        name=NAME,
        topic=settings.topics.alerts_new,
        decode=codec.decode_wire_alert,
        handle=Evaluator(rules, producer, settings.topics.alerts_matched).handle,
        checks={"rules": rules.check, "redis": redis_ping},
        # Not a single alert is taken before the rules are known: matching against an
        # empty index would silently drop every notification of the warm-up window.
        before_consuming=rules.wait_loaded,
        beside=[rules.follow, rules.heartbeat],
        batch_size=settings.kafka.evaluator_batch_size,
    )
    try:
        await run_stage(settings, stop, producer, stage)
    finally:
        await client.aclose()


configure, run = service_command(NAME, main)
