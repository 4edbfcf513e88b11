"""Helpers of the lifecycle e2e tests: an alert source that keeps its events in order,
and what the sinks received, read as (endpoint, kind, notification id) in arrival order."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.pipeline import Pipeline
from tests.pipeline_support import eventually


@dataclass
class Source:
    """One alert, posted like a monitoring system would: firing while it fires, then
    resolved, each event with a later ``event_ts`` than the one before."""

    pipeline: Pipeline
    alert_id: str
    severity: str = "HIGH"
    source: str = "db"
    name: str = "primary_down"
    context: dict[str, str] = field(default_factory=dict)
    event_ts: int = field(default_factory=lambda: int(time.time()))
    posted: int = 0

    def event(self, status: str) -> dict[str, Any]:
        self.event_ts += 1
        return {
            "alert_id": self.alert_id,
            "severity": self.severity,
            "source": self.source,
            "name": self.name,
            "context": self.context,
            "event_ts": self.event_ts,
            "status": status,
        }

    async def send(self, status: str, times: int = 1) -> None:
        """``times`` POSTs, one after the other (each answered after Kafka's ack, so the
        platform receives them in this order)."""
        for _ in range(times):
            await self.pipeline.post_alerts([self.event(status)])
            self.posted += 1

    async def fire(self, times: int = 1) -> None:
        await self.send("firing", times)

    async def resolve(self, times: int = 1) -> None:
        await self.send("resolved", times)


@dataclass(frozen=True)
class Arrival:
    endpoint: str  # the webhook sink's name, or "email:<recipient>"
    alert_id: str
    kind: str  # "firing" | "resolved", as the message says it
    notification_id: str
    request: dict[str, Any]


async def webhook_arrivals(pipeline: Pipeline, name: str) -> list[Arrival]:
    return [
        Arrival(
            name,
            call["body"]["alert_id"],
            call["body"]["status"],
            call["headers"]["idempotency-key"],
            call,
        )
        for call in await pipeline.received(name)
    ]


async def email_arrivals(pipeline: Pipeline) -> list[Arrival]:
    arrivals = []
    for mail in await pipeline.emails():
        subject = mail["subject"]
        kind = "resolved" if subject.startswith("[RESOLVED]") else "firing"
        assert kind == "resolved" or subject.startswith("[FIRING]"), subject
        arrivals.append(
            Arrival(
                f"email:{','.join(mail['rcpt_tos'])}",
                _alert_id_in(mail["body"]),
                kind,
                mail["headers"]["X-Alerting-Notification-Id"],
                mail,
            )
        )
    return arrivals


def _alert_id_in(body: str) -> str:
    for line in body.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "alert_id":
            return value.strip()
    raise AssertionError(f"no alert_id line in the email body:\n{body}")


async def rows_of(pipeline: Pipeline, token: str, alert_id: str) -> list[dict[str, Any]]:
    """The alert's notifications through the API, by (episode, kind)."""
    items = await pipeline.listed("/api/v1/notifications", token, alert_id=alert_id)
    return sorted(items, key=lambda n: (n["episode"], n["kind"] != "firing"))


async def wait_rows(
    pipeline: Pipeline,
    token: str,
    alert_id: str,
    expected: list[tuple[Any, ...]],
    fields: tuple[str, ...] = ("kind", "status"),
) -> list[dict[str, Any]]:
    """Until the alert's rows read ``expected`` (their ``fields``, in episode order): a
    sink records a call before the sender writes SENT, so statuses are waited for."""

    async def reached() -> list[dict[str, Any]]:
        rows = await rows_of(pipeline, token, alert_id)
        return rows if [tuple(r[f] for f in fields) for r in rows] == expected else []

    found: list[dict[str, Any]] = await eventually(
        reached, timeout=30, what=f"{alert_id} rows {expected}"
    )
    return found
