"""Configurations for the peers, as dictionaries (pure; written as JSON, which YAML reads).

Both point at the platform the way an operator would: Prometheus names ingest as one of
its Alertmanagers, Alertmanager names the platform's webhook integration as a receiver;
each carries its credentials as a bearer token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# An expression with a series (the alert fires) and one without (it resolves).
FIRING_EXPR = "vector(1)"
NOT_FIRING_EXPR = "vector(1) == 0"


def prometheus(
    alertmanager: str, credentials: str, rule_files: list[str], evaluation_interval: str = "1s"
) -> dict[str, Any]:
    """Evaluate ``rule_files`` every ``evaluation_interval`` and send alerts to
    ``alertmanager`` (host:port) over API v2, at ``/api/v2/alerts`` (no path prefix)."""
    return {
        "global": {"evaluation_interval": evaluation_interval},
        "rule_files": rule_files,
        "alerting": {
            "alertmanagers": [
                {
                    "api_version": "v2",
                    "scheme": "http",
                    "path_prefix": "",
                    "authorization": {"credentials": credentials},
                    "static_configs": [{"targets": [alertmanager]}],
                }
            ]
        },
    }


def alert_rule(
    alert: str, labels: Mapping[str, str], annotations: Mapping[str, str], firing: bool
) -> dict[str, Any]:
    """One rule group with one alerting rule, firing from its first evaluation or never."""
    rule = {
        "alert": alert,
        "expr": FIRING_EXPR if firing else NOT_FIRING_EXPR,
        "labels": dict(labels),
        "annotations": dict(annotations),
    }
    return {"groups": [{"name": alert, "rules": [rule]}]}


def alertmanager(
    webhook_url: str,
    credentials: str | None,
    group_interval: str = "1s",
    repeat_interval: str = "1h",
    send_resolved: bool = True,
) -> dict[str, Any]:
    """Every alert in a group of its own (``group_by: ['...']``), notified at once
    (``group_wait: 0s``), firing (and resolved, unless ``send_resolved`` is off: the
    bench counts firing webhooks only) to one webhook with a bearer token."""
    webhook: dict[str, Any] = {"url": webhook_url, "send_resolved": send_resolved}
    if credentials is not None:
        webhook["http_config"] = {"authorization": {"credentials": credentials}}
    return {
        "route": {
            "receiver": "platform",
            "group_by": ["..."],
            "group_wait": "0s",
            "group_interval": group_interval,
            "repeat_interval": repeat_interval,
        },
        "receivers": [{"name": "platform", "webhook_configs": [webhook]}],
    }
