"""The result document: headline figures, per-case detail, the machine and settings.

The headline keys are what runs are compared on (issue 5); every other field is
detail. Building and checking the document is pure; only ``write`` touches disk.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from alerting.bench import over_history
from alerting.config import SETTINGS

HEADLINE_KEYS = (
    "matching_alerts_per_s",
    "evaluator_alerts_per_s",
    "aggregator_notifications_per_s",
    "sender_webhooks_per_s",
    "sender_emails_per_s",
    "e2e_alerts_per_s",
    "e2e_notifications_per_s",
    "e2e_p50_ms",
    "e2e_p95_ms",
    "e2e_p99_ms",
    "e2e_offered_rate",
    "rule_live_start_p99_ms",
    "rule_live_p50_ms",
    "rule_live_p99_ms",
)
_SECRETS = {s.env for s in SETTINGS if s.secret}


def headline_case(cases: Iterable[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The case a stage is reported by: the most rules at fan-out 1 (the issue's target),
    through the process and without silences (the other cases are detail, compared
    side by side)."""
    ordered = sorted(
        (c for c in cases if not c.get("silences") and not c.get("in_process")),
        key=lambda c: (c["fanout"] != 1, -c["rules"]),
    )
    if not ordered:
        raise ValueError("no cases measured")
    return ordered[0]


def missing_keys(document: Mapping[str, Any]) -> list[str]:
    """Headline keys absent or not a positive number (an empty list: the document is whole)."""
    return [
        key
        for key in HEADLINE_KEYS
        if not isinstance(document.get(key), int | float)
        or isinstance(document.get(key), bool)
        or not document[key] > 0
    ]


def cpu_model(cpuinfo: str) -> str:
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model", "Hardware"):
            return value.strip()
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model(cpuinfo),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def settings_used(env: Mapping[str, str]) -> dict[str, str]:
    """Every ALERTING_* variable the services ran with, secrets left out."""
    return {k: v for k, v in sorted(env.items()) if k.startswith("ALERTING_") and k not in _SECRETS}


def table(document: Mapping[str, Any]) -> str:
    rows = [("stage", "case", "figure")]
    for stage, cases in document.get("stages", {}).items():
        for case in cases:
            rows.append((stage, case["case"], case["figure"]))
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(width[i]) for i, cell in enumerate(r)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in width))
    return "\n".join(lines)


def write(document: Mapping[str, Any], directory: Path, stamp: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stamp}.json"
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return path


def assemble(
    stages: Mapping[str, list[dict[str, Any]]], detail: Mapping[str, Any]
) -> dict[str, Any]:
    """The document: headline figures derived from the stages that ran, then the detail.
    A run limited with ``--only`` has the headline keys of its stages only."""
    head: dict[str, Any] = {}
    if "matching" in stages:
        head["matching_alerts_per_s"] = headline_case(stages["matching"])["per_s"]
    if "evaluator" in stages:
        head["evaluator_alerts_per_s"] = headline_case(stages["evaluator"])["per_s"]
    if "aggregator" in stages:
        head["aggregator_notifications_per_s"] = stages["aggregator"][0]["per_s"]
    if "sender" in stages:
        by_channel = {c.get("channel"): c for c in stages["sender"]}
        head["sender_webhooks_per_s"] = by_channel["webhook"]["per_s"]
        head["sender_emails_per_s"] = by_channel["email"]["per_s"]
    if "e2e" in stages:
        latency, fastest = stages["e2e"]
        ms = latency["latency_ms"]
        head |= {
            "e2e_alerts_per_s": fastest["per_s"],
            "e2e_notifications_per_s": round(fastest["notifications_per_s"], 1),
            "e2e_p50_ms": round(ms["p50_ms"], 1),
            "e2e_p95_ms": round(ms["p95_ms"], 1),
            "e2e_p99_ms": round(ms["p99_ms"], 1),
            "e2e_offered_rate": latency["offered_rate"],
        }
    if "liveness" in stages:
        after_start, steady = stages["liveness"]
        head |= {
            "rule_live_start_p99_ms": round(after_start["latency_ms"]["p99_ms"], 1),
            "rule_live_p50_ms": round(steady["latency_ms"]["p50_ms"], 1),
            "rule_live_p99_ms": round(steady["latency_ms"]["p99_ms"], 1),
        }
    head |= side_by_side(stages.get("alertmanager", []))
    head |= storm_figures(stages.get("storm", []))
    head |= over_history.figures(stages.get("stored", []))
    return {**head, "stages": dict(stages), **detail}


def storm_figures(cases: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The storm case's figures (none when it did not run). Not headline keys: a
    grouped endpoint's pace is set by its timers, not by the platform's speed."""
    found = {
        f"storm_{key}": c[key]
        for c in cases
        for key in ("alerts_per_s", "messages_per_s", "members_per_message")
    }
    return found


def side_by_side(cases: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The Alertmanager comparison's figures; none when it did not run (no packages).
    Not headline keys: a run that could not install Alertmanager is still whole."""
    by_side = {c.get("side"): c for c in cases}
    if not {"am", "platform", "ratio"} <= by_side.keys():
        return {}
    return {
        "alertmanager_alerts_per_s": by_side["am"]["per_s"],
        "alertmanager_p99_ms": by_side["am"]["latency_ms"]["p99_ms"],
        "platform_v2_alerts_per_s": by_side["platform"]["per_s"],
        "platform_v2_p99_ms": by_side["platform"]["latency_ms"]["p99_ms"],
        "platform_to_alertmanager_ratio": by_side["ratio"]["ratio"],
    }
