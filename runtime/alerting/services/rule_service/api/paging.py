"""Keyset pages: fetch limit + 1 rows; the extra row only says whether there is more."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alerting.services.rule_service import cursor
from alerting.services.rule_service.cursor import Position
from alerting.web import problems


def start_after(kind: str, token: str | None) -> Position | None:
    if token is None:
        return None
    try:
        return cursor.decode(kind, token)
    except cursor.InvalidCursor as exc:
        raise problems.invalid("cursor", str(exc)) from None


def split(
    kind: str, rows: Sequence[Any], limit: int, id_column: str
) -> tuple[list[dict[str, Any]], str | None]:
    """The page's items (as dicts) and the cursor of the next page, if there is one."""
    items = [dict(r) for r in rows[:limit]]
    if len(rows) <= limit:
        return items, None
    last = items[-1]
    return items, cursor.encode(kind, Position(last["created_at"], str(last[id_column])))
