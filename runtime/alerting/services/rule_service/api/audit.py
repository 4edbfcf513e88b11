"""The audit log, for admins: every change made through this API, oldest first.

Written by the handlers that change things (``audit_trail.audited``); a client key gets
403, like every admin-only operation.
"""

from __future__ import annotations

from alerting.services.rule_service.api import paging
from alerting.services.rule_service.models.audit import AuditPage, AuditQuery, AuditRecord
from alerting.services.rule_service.operation import Ctx, Operation
from alerting.services.rule_service.repo import audit as repo

KIND = "audit"


async def list_audit(ctx: Ctx) -> AuditPage:
    q = ctx.query(AuditQuery)
    rows = await repo.page(
        ctx.pool,
        client_id=q.client_id,
        action=q.action,
        since=q.since,
        until=q.until,
        after=paging.start_after(ctx, KIND, q.cursor),
        limit=q.limit + 1,
    )
    items, next_cursor = paging.split(ctx, KIND, rows, q.limit, "audit_id", "at")
    return AuditPage(items=[AuditRecord.model_validate(i) for i in items], next_cursor=next_cursor)


OPERATIONS = (
    Operation("GET", "/api/v1/audit", list_audit,
              "List the audit log (admin): who changed clients, keys, rules and endpoints,"
              " and when", "audit", response=AuditPage, query=AuditQuery, admin_only=True),
)  # fmt: skip
