"""Posting alerts to ingest like an upstream system: batches over HTTP, at a fixed
offered rate or as fast as ingest answers, each alert carrying its post time in its
context (which reaches the webhook body, so latency is measured at the receiver)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from alerting.bench.processes import BenchError
from alerting.bench.ruleset import RuleSetSpec, alerts

SENT_AT = "bench_sent_at"


@dataclass
class Posted:
    accepted: int = 0
    started_at: float = field(default_factory=time.time)  # wall clock, like received_at
    seconds: float = 0.0

    @property
    def offered_per_s(self) -> float:
        return self.accepted / self.seconds if self.seconds > 0 else 0.0


def body(spec: RuleSetSpec, count: int, prefix: str, seed: int) -> dict[str, Any]:
    sent_at = f"{time.time():.6f}"
    return {
        "alerts": [
            {
                "alert_id": a.alert_id,
                "severity": a.severity.value,
                "source": a.source,
                "name": a.name,
                "context": {SENT_AT: sent_at},
            }
            for a in alerts(spec, count, prefix, 0, seed=seed)
        ]
    }


async def post(
    url: str,
    token: str,
    spec: RuleSetSpec,
    prefix: str,
    seconds: float,
    rate: float | None,
    batch: int,
    limit: int | None = None,
    in_flight: int = 8,
) -> Posted:
    """Post for ``seconds`` (and at most ``limit`` alerts): at ``rate`` alerts/s, or
    unpaced when ``rate`` is None, ``in_flight`` requests at a time either way.
    Ids are ``<prefix><batch>-<n>``."""
    posted = Posted()
    slots = asyncio.Semaphore(in_flight)
    tasks: list[asyncio.Task[None]] = []
    began = time.monotonic()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:

        async def send(payload: dict[str, Any]) -> None:
            try:
                response = await http.post("/api/v1/alerts", json=payload)
            finally:
                slots.release()
            if response.status_code != 202:
                raise BenchError(f"ingest answered {response.status_code}: {response.text[:300]}")
            posted.accepted += len(payload["alerts"])

        k = 0
        try:
            while time.monotonic() - began < seconds and (limit is None or k * batch < limit):
                if rate is not None:
                    delay = began + k * batch / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                await slots.acquire()
                tasks.append(asyncio.create_task(send(body(spec, batch, f"{prefix}{k}-", seed=k))))
                k += 1
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:  # interrupted: no request outlives the run
                task.cancel()
    posted.seconds = time.monotonic() - began
    return posted
