"""Helpers of the silence tests: request bodies and times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

SILENCES = "/api/v1/silences"


def iso(when: datetime) -> str:
    return when.isoformat()


def in_(**delta: float) -> str:
    return iso(datetime.now(UTC) + timedelta(**delta))


def silence_body(client_id: str, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": client_id,
        "matchers": [{"name": "source", "op": "=", "value": "db"}],
        "ends_at": in_(hours=1),
        "comment": "maintenance",
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


def all_week(time_zone: str = "UTC") -> dict[str, Any]:
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    return {"time_zone": time_zone, "ranges": [{"days": days, "start": "00:00", "end": "24:00"}]}
