"""Rows of the grouping tables written directly in SQL, as the sender's grouping leaves
them (the sender side is built separately): groups, digests, grouped deliveries.

Not a test module.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any


async def insert_group(
    conn: Any,
    client_id: str,
    rule_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    opened_at: datetime,
    *,
    closed_at: datetime | None = None,
    labels: dict[str, str] | None = None,
    kind: str = "firing",
) -> uuid.UUID:
    group_id = uuid.uuid4()
    labels = labels if labels is not None else {"source": "db"}
    await conn.execute(
        "INSERT INTO notification_groups (group_id, client_id, rule_id, endpoint_id, kind,"
        " labels, group_key, key_hash, group_wait_s, group_interval_s, repeat_interval_s,"
        " opened_at, closed_at, due_at) VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7,"
        " encode(sha256(convert_to($7, 'UTF8')), 'hex'), 30, 300, 14400, $8,"
        " $9, CASE WHEN $9::timestamptz IS NULL THEN $8::timestamptz + interval '30 seconds' END)",
        group_id, client_id, rule_id, endpoint_id, kind, json.dumps(labels),
        json.dumps(labels, sort_keys=True), opened_at, closed_at,
    )  # fmt: skip
    return group_id


async def insert_digest(
    conn: Any,
    digest_id: uuid.UUID,
    group_id: uuid.UUID,
    seq: int,
    members: list[uuid.UUID],
    status: str = "SENT",
) -> None:
    await conn.execute(
        "INSERT INTO notification_digests (digest_id, group_id, seq, notification_ids,"
        " members, status, attempts, sent_at, response_code)"
        " VALUES ($1, $2, $3, $4::uuid[], $5, $6, 1,"
        " CASE WHEN $6 = 'SENT' THEN now() END, CASE WHEN $6 = 'SENT' THEN 200 END)",
        digest_id, group_id, seq, members, len(members), status,
    )  # fmt: skip


async def insert_member(
    conn: Any,
    client_id: str,
    group_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    *,
    digest_id: uuid.UUID | None = None,
    endpoint_type: str = "email",
) -> uuid.UUID:
    """A notification that joined the group: GROUPED while no digest carried it, else
    SENT by ``digest_id`` (with its attempt-log row naming the digest)."""
    notification_id = uuid.uuid4()
    status = "GROUPED" if digest_id is None else "SENT"
    await conn.execute(
        "INSERT INTO notifications (notification_id, client_id, alert_id, severity, source,"
        " name, event_ts, rule_ids, status) VALUES ($1, $2, $3, 'HIGH', 'db', 'disk', now(),"
        " ARRAY[gen_random_uuid()], $4)",
        notification_id, client_id, f"a-{notification_id}", status,
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status, attempts,"
        " group_id, digest_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        notification_id, endpoint_id, endpoint_type, status, 0 if digest_id is None else 1,
        group_id, digest_id,
    )  # fmt: skip
    if digest_id is not None:
        await conn.execute(
            "INSERT INTO delivery_attempts (notification_id, endpoint_id, attempt,"
            " endpoint_type, started_at, duration_ms, outcome, response_code, digest_id)"
            " VALUES ($1, $2, 1, $3, now(), 5, 'SENT', 200, $4)",
            notification_id, endpoint_id, endpoint_type, digest_id,
        )  # fmt: skip
    return notification_id
