"""Keyset pages: fetch limit + 1 rows; the extra row only says whether there is more."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alerting.services.rule_service.cursor import InvalidCursor, Position
from alerting.services.rule_service.operation import Ctx
from alerting.web import problems


def start_after(ctx: Ctx, kind: str, token: str | None) -> Position | None:
    """Where the page after ``token`` starts; a cursor the service did not issue for
    this list is a 422 on ``cursor``."""
    if token is None:
        return None
    try:
        return ctx.deps.cursors.decode(kind, token)
    except InvalidCursor as exc:
        raise problems.invalid("cursor", str(exc)) from None


def split(
    ctx: Ctx,
    kind: str,
    rows: Sequence[Any],
    limit: int,
    id_column: str,
    time_column: str = "created_at",
) -> tuple[list[dict[str, Any]], str | None]:
    """The page's items (as dicts) and the cursor of the next page, if there is one."""
    items = [dict(r) for r in rows[:limit]]
    if len(rows) <= limit:
        return items, None
    last = items[-1]
    position = Position(last[time_column], str(last[id_column]))
    return items, ctx.deps.cursors.encode(kind, position)
