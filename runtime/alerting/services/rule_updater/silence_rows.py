"""Silence rows as the snapshot carries them: read from Postgres, checked by the domain.

Only silences that are not over belong in the snapshot (``ends_at`` unset or later than
Postgres' now): a pending one is there before it starts, so it mutes from its first
millisecond without waiting for a change; an ended one is dropped by the next reconcile
(or by its own change, when it is expired early).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from alerting import codec
from alerting.domain.silences import (
    InvalidSilence,
    Matcher,
    MatchOp,
    Schedule,
    Silence,
    WeeklyRange,
)
from alerting.v1 import messages_pb2 as pb

log = logging.getLogger(__name__)

_COLUMNS = (
    "silence_id::text AS silence_id, client_id, matchers, starts_at, ends_at, time_zone,"
    " weekly, version"
)
NOT_OVER = "(ends_at IS NULL OR ends_at > now())"


def silence_of(row: Mapping[str, Any]) -> Silence:
    """The domain silence of a ``silences`` row; ``InvalidSilence`` if it does not hold."""
    schedule = None
    if row["time_zone"] is not None:
        schedule = Schedule(
            row["time_zone"],
            tuple(
                WeeklyRange(frozenset(r["days"]), r["start_minute"], r["end_minute"])
                for r in row["weekly"]
            ),
        )
    try:
        matchers = tuple(Matcher(m["name"], MatchOp(m["op"]), m["value"]) for m in row["matchers"])
    except InvalidSilence:
        raise
    except (KeyError, TypeError, ValueError) as exc:  # an unknown op, a malformed entry
        raise InvalidSilence("matchers", f"not a list of name/op/value: {exc}") from None
    return Silence(
        row["silence_id"], row["client_id"], matchers, row["starts_at"], row["ends_at"], schedule
    )


def entry_of(row: Mapping[str, Any]) -> pb.SnapshotSilence | None:
    try:
        return codec.silence_message(silence_of(row), row["version"])
    except (InvalidSilence, KeyError, TypeError) as exc:
        # rule-service validated it; a row that no longer parses must not cost the
        # snapshot every other change. Left out, it mutes nothing.
        log.error("silence %s is left out of the snapshot: %s", row["silence_id"], exc)
        return None


async def not_over(pool: asyncpg.Pool[Any]) -> dict[str, pb.SnapshotSilence]:
    """Every silence not over yet, by id."""
    rows = await pool.fetch(f"SELECT {_COLUMNS} FROM silences WHERE {NOT_OVER}")
    entries = {r["silence_id"]: entry_of(r) for r in rows}
    return {k: v for k, v in entries.items() if v is not None}


async def current(
    pool: asyncpg.Pool[Any], silence_ids: Sequence[str]
) -> tuple[dict[str, pb.SnapshotSilence | None], dict[str, int]]:
    """The snapshot entry of each listed silence now (None: gone, or over) and its
    version in Postgres whether over or not (0: gone), for the liveness record.

    One statement for both: the record must name the very version the entry carries
    (a PATCH committing between two reads would have the record claim a version no
    evaluator holds). An expired silence keeps its real version: it is live once the
    evaluators hold a snapshot without it."""
    rows = await pool.fetch(
        f"SELECT {_COLUMNS}, {NOT_OVER} AS not_over FROM silences"
        " WHERE silence_id = ANY($1::uuid[])",
        list(silence_ids),
    )
    entries: dict[str, pb.SnapshotSilence | None] = dict.fromkeys(silence_ids)
    versions = dict.fromkeys(silence_ids, 0)
    for r in rows:
        entries[r["silence_id"]] = entry_of(r) if r["not_over"] else None
        versions[r["silence_id"]] = r["version"]
    return entries, versions
