"""ALERTING_KAFKA_IDEMPOTENCE: off for Tansu (the default), on for Apache Kafka and MSK."""

from __future__ import annotations

import pytest

from alerting import config, roster
from alerting.adapters.kafka.options import producer_options
from alerting.config import ConfigError


def test_idempotence_is_off_by_default_so_the_tansu_path_is_unchanged() -> None:
    options = producer_options(config.load({}).kafka)
    assert options["enable_idempotence"] is False
    assert options["acks"] == "all"


@pytest.mark.parametrize("raw", ["true", "1", "yes", "on", "TRUE"])
def test_idempotence_on_keeps_the_options_aiokafka_requires(raw: str) -> None:
    options = producer_options(config.load({"ALERTING_KAFKA_IDEMPOTENCE": raw}).kafka)
    assert options["enable_idempotence"] is True
    # aiokafka raises ValueError for enable_idempotence with any acks but "all"/-1.
    assert options["acks"] == "all"
    # aiokafka has no max-in-flight option (one produce request per broker at a time):
    # passing one would be a TypeError at start.
    assert not any("in_flight" in name for name in options)


@pytest.mark.parametrize("raw", ["maybe", "2", "enabled"])
def test_an_unreadable_idempotence_value_is_named(raw: str) -> None:
    with pytest.raises(ConfigError) as info:
        config.load({"ALERTING_KAFKA_IDEMPOTENCE": raw})
    message = str(info.value)
    assert "ALERTING_KAFKA_IDEMPOTENCE" in message
    assert "\n" not in message


def test_every_producing_service_reads_the_setting() -> None:
    producing = {s.name for s in roster.PRODUCERS}
    # The consumers' run_stage builds a producer (output and dead letters); rule-service's
    # outbox relay and ingest's publisher build their own; metrics only reads offsets.
    assert producing == set(roster.NAMES) - {"metrics"}
    for service in roster.PRODUCERS:
        assert "ALERTING_KAFKA_IDEMPOTENCE" in config.expand(service.settings), service.name
