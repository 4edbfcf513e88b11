"""What a template sees: a notification's fields as plain data (str, int, bool, list,
dict), so nothing in them has methods or attributes worth reaching for."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alerting.domain.delivery_messages import OutgoingNotification

NAMES = (
    "status", "kind", "severity", "source", "name", "alert_id", "episode", "event_ts",
    "event_time", "context", "rule_ids", "notification_id", "client_id", "test", "title",
)  # fmt: skip


def variables(n: OutgoingNotification) -> dict[str, Any]:
    return {
        "status": n.kind,  # firing or resolved (the webhook body's name for it)
        "kind": n.kind,
        "severity": n.severity,
        "source": n.source,
        "name": n.name,
        "alert_id": n.alert_id,
        "episode": n.episode,
        "event_ts": n.event_ts,
        "event_time": datetime.fromtimestamp(n.event_ts, UTC).isoformat(),
        "context": dict(n.context),
        "rule_ids": list(n.rule_ids),
        "notification_id": n.notification_id,
        "client_id": n.client_id,
        "test": n.test,
        "title": n.title,  # the built-in one-line title, e.g. "[FIRING] [HIGH] db: disk"
    }
