"""Audited changes: a handler makes its change and records it in one transaction.

    async with audited(ctx) as change:
        row = await repo.insert(change.conn, ...)
        change.record("rule.create", row["rule_id"], client_id, severity=...)

The audit rows are written when the block ends without an error, just before the
commit, on the connection the change used: a change that rolls back (a conflict, a
404 raised inside the block) leaves no row, and a row never describes a change that
did not commit. Who made it (the admin token or which key) and the request id come from
the request; the handler says what and to what. Auditing a new resource (silences,
issue 14) is adding its actions to ``models.audit.AuditAction`` and one ``record`` line
per handler.

``details`` are facts for a reader, never secrets: no token, signing secret or endpoint
value (an endpoint's value may itself be a credential, such as a Slack webhook URL).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any, get_args

from alerting.services.rule_service.models.audit import AuditAction
from alerting.services.rule_service.operation import Ctx
from alerting.services.rule_service.repo import audit as repo
from alerting.services.rule_service.repo.sql import Conn

ACTIONS: tuple[str, ...] = get_args(AuditAction)
_KNOWN = frozenset(ACTIONS)
# A request id is the caller's (or its gateway's) text: kept only when it looks like one.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:=-]{1,128}")
REQUEST_ID_HEADERS = ("x-request-id", "x-amzn-trace-id")


class Change:
    """The connection a change uses (in its transaction) and what it records."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.entries: list[repo.AuditEntry] = []

    def record(
        self, action: str, resource_id: object, client_id: str | None, **details: Any
    ) -> None:
        if action not in _KNOWN:
            raise ValueError(f"unknown audit action {action!r}: add it to AuditAction")
        self.entries.append(repo.AuditEntry(action, str(resource_id), client_id, details))


def actor(ctx: Ctx) -> repo.Actor:
    principal = ctx.principal
    name = "admin" if principal.kind == "admin" else f"key:{principal.prefix}"
    return repo.Actor(name, principal.client_id, request_id(ctx))


def request_id(ctx: Ctx) -> str | None:
    for header in REQUEST_ID_HEADERS:
        value = ctx.request.headers.get(header)
        if value is not None and REQUEST_ID.fullmatch(value):
            return value
    return None


@contextlib.asynccontextmanager
async def audited(ctx: Ctx) -> AsyncIterator[Change]:
    async with ctx.pool.acquire() as conn, conn.transaction():
        change = Change(conn)
        yield change
        await repo.record(conn, actor(ctx), change.entries)
