"""What Prometheus and Alertmanager post, for the tests of ingest's source routes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def rfc3339(ts: float, suffix: str = "Z") -> str:
    """Unix seconds as Go writes them in a payload (whole seconds, then ``suffix``)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S") + suffix


def webhook_body(*alerts: dict[str, Any]) -> dict[str, Any]:
    """Alertmanager's webhook payload (version 4), group fields and all."""
    return {
        "version": "4",
        "groupKey": '{}:{alertname="x"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "platform",
        "groupLabels": {"alertname": "x"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }
