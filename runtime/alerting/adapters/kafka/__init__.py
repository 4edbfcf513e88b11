"""Kafka adapter: topic administration, a batching producer, and the consume loop."""

from alerting.adapters.kafka.admin import ensure_topics
from alerting.adapters.kafka.consumer import ConsumeLoop, Poison, Record
from alerting.adapters.kafka.options import client_options
from alerting.adapters.kafka.producer import BatchProducer, OutMessage

__all__ = [
    "BatchProducer",
    "ConsumeLoop",
    "OutMessage",
    "Poison",
    "Record",
    "client_options",
    "ensure_topics",
]
