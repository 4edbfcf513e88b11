"""Grouping policies: which notifications share one message, and when it goes. No I/O.

A rule may carry a policy (DESIGN section 10, docs/grouping.md). Its endpoints then get
one digest per group instead of one message per notification: a group is the
notifications of one endpoint with the same ``kind`` (firing and resolved are never
mixed in one message) and the same values of the policy's ``group_by`` fields. The
timers have Alertmanager's meaning:

- the first member opens the group, which goes out ``group_wait_s`` later with every
  member that joined by then;
- members joining after a flush go out in the next one, at most every
  ``group_interval_s``;
- a firing group whose members still fire is re-announced every ``repeat_interval_s``
  (a resolved group never is);
- a group with nothing left to send or re-announce closes; the next member opens a new
  one.

The store implements the timers in SQL (a join sets ``due_at``); ``next_flush_s`` is
the decision the flusher hands it after a flush.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alerting.domain.delivery_messages import FIRING, OutgoingNotification

ALERT_FIELDS = ("severity", "source", "name")
CONTEXT_PREFIX = "context."
MAX_GROUP_BY = 8
MAX_CONTEXT_KEY = 128
# Alertmanager's defaults.
DEFAULT_WAIT_S = 30
DEFAULT_INTERVAL_S = 300
DEFAULT_REPEAT_S = 4 * 3600
MAX_WAIT_S = 3600
MAX_INTERVAL_S = 24 * 3600
MAX_REPEAT_S = 7 * 24 * 3600
# The most members one digest carries: a storm bigger than this goes out in several
# digests, back to back, so no single request or email grows without bound (10,000
# webhook items are about 3 MB).
MAX_DIGEST_MEMBERS = 10_000
TIMERS = ("group_wait_s", "group_interval_s", "repeat_interval_s")
KEYS = ("group_by", *TIMERS)


class InvalidGrouping(ValueError):
    """A policy that cannot be used; ``field`` names the offending part as the API's
    422 reports it (``grouping.group_by[1]``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class GroupingPolicy:
    group_by: tuple[str, ...] = ()
    group_wait_s: int = DEFAULT_WAIT_S
    group_interval_s: int = DEFAULT_INTERVAL_S
    repeat_interval_s: int = DEFAULT_REPEAT_S

    @classmethod
    def parse(cls, value: object, where: str = "grouping") -> GroupingPolicy:
        """The policy an API body or a stored ``rules.grouping`` holds; timers left out
        take the defaults. ``InvalidGrouping`` says what is wrong, and where."""
        if not isinstance(value, Mapping):
            raise InvalidGrouping(where, "must be an object")
        unknown = sorted(set(value) - set(KEYS))
        if unknown:
            raise InvalidGrouping(
                f"{where}.{unknown[0]}", f"unknown field; expected one of {', '.join(KEYS)}"
            )
        group_by = _group_by(value.get("group_by", []), f"{where}.group_by")
        timers = {
            name: _seconds(value.get(name, default), f"{where}.{name}", low, high)
            for name, default, low, high in (
                ("group_wait_s", DEFAULT_WAIT_S, 0, MAX_WAIT_S),
                ("group_interval_s", DEFAULT_INTERVAL_S, 1, MAX_INTERVAL_S),
                ("repeat_interval_s", DEFAULT_REPEAT_S, 1, MAX_REPEAT_S),
            )
        }
        if timers["repeat_interval_s"] < timers["group_interval_s"]:
            raise InvalidGrouping(f"{where}.repeat_interval_s", "must be at least group_interval_s")
        return cls(group_by, **timers)

    def to_json(self) -> dict[str, Any]:
        return {
            "group_by": list(self.group_by),
            "group_wait_s": self.group_wait_s,
            "group_interval_s": self.group_interval_s,
            "repeat_interval_s": self.repeat_interval_s,
        }

    def labels(self, n: OutgoingNotification) -> dict[str, str]:
        """The group_by values of ``n``; a context key it lacks reads as "" (as in a
        silence's matcher), so alerts without it share one group."""
        found = {}
        for name in self.group_by:
            if name.startswith(CONTEXT_PREFIX):
                found[name] = n.context.get(name[len(CONTEXT_PREFIX) :], "")
            else:
                found[name] = str(getattr(n, name))
        return found


def group_key(labels: Mapping[str, str]) -> str:
    """The canonical text of a group's labels: what two members are one group by."""
    return json.dumps(dict(labels), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def incident_key(endpoint_id: str, labels: Mapping[str, str]) -> str:
    """The incident a receiver keeps per (endpoint, group key), e.g. PagerDuty's
    ``dedup_key``: ``group-`` and 32 hex digits of a SHA-256. Not the group's id: the
    firing and the resolved group of one key are two groups, and a group that closes
    and reopens is a new one, yet a resolved digest must resolve the incident its firing
    digest opened. The kind is left out on purpose (that pairing); the endpoint is in it
    so two endpoints with one routing key never share an incident. Shown by the API."""
    text = f"{endpoint_id}\n{group_key(labels)}"
    return "group-" + hashlib.sha256(text.encode()).hexdigest()[:32]


def next_flush_s(
    policy: GroupingPolicy, kind: str, *, pending: bool, still_firing: bool
) -> float | None:
    """Seconds from a flush to the group's next one, or None: the group closes.
    ``pending``: members joined that the flush did not carry; ``still_firing``: members
    of a firing group whose episode is not resolved yet."""
    if pending:
        return float(policy.group_interval_s)
    if kind == FIRING and still_firing:
        return float(policy.repeat_interval_s)
    return None


def _group_by(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InvalidGrouping(where, "must be a list of field names")
    if len(value) > MAX_GROUP_BY:
        raise InvalidGrouping(where, f"at most {MAX_GROUP_BY} fields")
    seen: list[str] = []
    for i, name in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(name, str):
            raise InvalidGrouping(at, "must be a string")
        key = name[len(CONTEXT_PREFIX) :] if name.startswith(CONTEXT_PREFIX) else None
        if name not in ALERT_FIELDS and not (key and len(key) <= MAX_CONTEXT_KEY):
            raise InvalidGrouping(
                at, f"must be severity, source, name or context.<key> (got {name[:64]!r})"
            )
        if name in seen:
            raise InvalidGrouping(at, f"{name} is listed twice")
        seen.append(name)
    return tuple(seen)


def _seconds(value: object, where: str, low: int, high: int) -> int:
    # bool is an int in Python; true is not a duration.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidGrouping(where, "must be a whole number of seconds")
    if not low <= value <= high:
        raise InvalidGrouping(where, f"must be between {low} and {high}")
    return value
