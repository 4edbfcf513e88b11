"""A tiny builder for the WHERE clauses of list queries.

Optional filters are added as real conditions rather than ``($1 IS NULL OR col = $1)``:
with prepared statements Postgres may switch to a generic plan, and the OR form then
cannot use the (client_id, created_at, id) indexes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from alerting.services.rule_service.cursor import Position

# Strings: asyncpg's classes are generic only to the type checker.
Conn: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"
Executor: TypeAlias = "asyncpg.Pool[Any] | Conn"


@dataclass
class Where:
    args: list[Any] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)

    def arg(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, condition: str, *values: Any) -> Where:
        """``condition`` uses ``{}`` for each value, in order."""
        self.conditions.append(condition.format(*(self.arg(v) for v in values)))
        return self

    def equal(self, column: str, value: Any) -> Where:
        if value is not None:
            self.add(f"{column} = {{}}", value)
        return self

    def after(
        self,
        created_col: str,
        id_col: str,
        position: Position | None,
        cast: str,
        descending: bool = False,
    ) -> Where:
        """Rows past ``position`` in (created, id) order, or in its reverse."""
        if position is not None:
            past = "<" if descending else ">"
            self.add(
                f"({created_col}, {id_col}) {past} ({{}}, {{}}::{cast})",
                position.created_at,
                position.id,
            )
        return self

    def sql(self) -> str:
        return " WHERE " + " AND ".join(self.conditions) if self.conditions else ""
