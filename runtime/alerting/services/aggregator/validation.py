"""What Postgres would refuse, found before the batch INSERT.

One unstorable match would fail the whole batch's statement, the batch would be
redelivered, fail again, and stall its partition forever. Such a match is rejected
(dead-lettered) on its own instead, and the rest of the batch goes through.
"""

from __future__ import annotations

import uuid

from alerting.domain.model import AlertMatch

# to_timestamp() accepts up to the year 294276, but a notification dated beyond 9999
# is a producer bug, not an alert.
MAX_EVENT_TS = 253_402_300_799


# Ids already parsed as UUIDs: a batch names the same few rules over and over, and
# parsing one costs about 1 us (bounded by clearing, like every per-process cache).
_UUIDS: set[str] = set()
_UUIDS_LIMIT = 100_000


def _not_uuid(value: str) -> bool:
    if value in _UUIDS:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return True
    if len(_UUIDS) >= _UUIDS_LIMIT:
        _UUIDS.clear()
    _UUIDS.add(value)
    return False


def _has_nul(*texts: str) -> bool:
    return "\x00" in "".join(texts)


def unstorable(match: AlertMatch) -> str | None:
    """Why this match cannot be stored, or None when it can."""
    alert = match.alert
    for what, ids in (("rule_id", match.rule_ids), ("silence_id", match.silence_ids)):
        for one in ids:
            if _not_uuid(one):
                return f"{what} {one[:64]!r} is not a UUID"
    if not 0 <= alert.event_ts <= MAX_EVENT_TS:
        return f"event_ts {alert.event_ts} is out of range"
    context = alert.context
    if _has_nul(match.client_id, alert.alert_id, alert.source, alert.name) or (
        context and _has_nul(*context.keys(), *context.values())
    ):
        return "a text field contains a NUL character"
    return None
