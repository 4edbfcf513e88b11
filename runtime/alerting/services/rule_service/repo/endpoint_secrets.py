"""An endpoint's signing secrets, for their rotation: the current one read under a lock,
then the new pair written. Both sealed (``alerting.sealed``): only the rotation's
handler opens the current one, to seal it again under the previous column's binding."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from alerting.services.rule_service.repo.sql import Conn, Where


async def lock(conn: Conn, endpoint_id: UUID, owner: str | None) -> asyncpg.Record | None:
    """The endpoint's type, stored secret and client, locked until the transaction ends:
    two rotations at once then run one after the other, and the second one's previous
    secret is the first one's new secret (never a secret nobody was shown)."""
    where = Where().add("e.endpoint_id = {}", endpoint_id).equal("r.client_id", owner)
    return await conn.fetchrow(
        "SELECT e.endpoint_id, e.type, e.signing_secret, r.client_id FROM endpoints e"
        f" JOIN rules r ON r.rule_id = e.rule_id{where.sql()} FOR UPDATE OF e",
        *where.args,
    )


async def replace(
    conn: Conn, endpoint_id: UUID, current: str, previous: str | None, grace_s: int
) -> asyncpg.Record:
    """The new current secret, and the one it replaces valid for ``grace_s`` more
    (by the database's clock, which the sender's expiry check reads too). A previous
    secret still in its grace period is dropped: two valid secrets at most."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "UPDATE endpoints SET signing_secret = $2, previous_signing_secret = $3,"
        " previous_secret_expires_at = CASE WHEN $3::text IS NULL THEN NULL"
        " ELSE now() + make_interval(secs => $4) END, updated_at = now()"
        " WHERE endpoint_id = $1 RETURNING previous_secret_expires_at",
        endpoint_id,
        current,
        previous,
        grace_s,
    )
    assert row is not None  # locked by ``lock`` in this transaction
    return row
