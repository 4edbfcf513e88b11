"""Scrape the services' /metrics: up or down, and their consume-loop counters summed.

A service that does not answer is data ("up": false with the reason), never an error
of the metrics endpoint itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from alerting.aio import one_line

# Sample name (as exposed) -> key in the report. Summed over every label set (topic).
COUNTERS = {
    "alerting_consumed_messages_total": "consumed_total",
    "alerting_processed_messages_total": "processed_total",
    "alerting_dead_lettered_messages_total": "dead_lettered_total",
    "alerting_failed_batches_total": "failed_batches_total",
}


def parse_counters(text: str) -> dict[str, int]:
    """The ``COUNTERS`` found in Prometheus text, each summed over its labels (0 if absent).

    Raises ValueError for text that is not the Prometheus exposition format.
    """
    totals = dict.fromkeys(COUNTERS.values(), 0.0)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = COUNTERS.get(sample.name)
            if key is not None:
                totals[key] += sample.value
    return {key: int(value) for key, value in totals.items()}


async def scrape_one(client: httpx.AsyncClient, base_url: str) -> dict[str, Any]:
    try:
        response = await client.get(f"{base_url.rstrip('/')}/metrics")
        response.raise_for_status()
        counters = parse_counters(response.text)
    except (httpx.HTTPError, ValueError) as exc:
        return {"up": False, "error": one_line(exc)[:300]}
    return {"up": True, **counters}


async def scrape_all(targets: Mapping[str, str], timeout_s: float) -> dict[str, dict[str, Any]]:
    """Every target at once; the slowest bounds the round at ``timeout_s``."""
    async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as client:
        results = await asyncio.gather(*(scrape_one(client, url) for url in targets.values()))
    return dict(zip(targets, results, strict=True))
