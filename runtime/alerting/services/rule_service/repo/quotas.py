"""Count quotas (docs/quotas.md): how many children one parent row may have.

Race-free by locking the parent: the count and the insert run in one transaction that
first locks the parent row (``FOR NO KEY UPDATE``: it excludes another quota check of
the same parent, not the foreign-key checks of unrelated writes), so two creates at the
limit are serialised and the second counts the first's row. A count without the lock
would let both see "one below the limit" and both insert.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerting.services.rule_service.repo.sql import Conn


@dataclass(frozen=True)
class CountQuota:
    name: str  # as the problem's ``quota`` member says it
    what: str  # the children, for the problem's detail
    parent: str  # the parent's kind, for the detail
    lock_sql: str  # locks the parent row ($1 its id); no row: no such parent
    count_sql: str  # counts its children ($1)


RULES_PER_CLIENT = CountQuota(
    "rules_per_client",
    "rules",
    "client",
    "SELECT 1 FROM clients WHERE client_id = $1 FOR NO KEY UPDATE",
    # Disabled rules count: enabling one is a PATCH that must not need a quota check.
    "SELECT count(*) FROM rules WHERE client_id = $1",
)
ENDPOINTS_PER_RULE = CountQuota(
    "endpoints_per_rule",
    "endpoints",
    "rule",
    "SELECT 1 FROM rules WHERE rule_id = $1 FOR NO KEY UPDATE",
    "SELECT count(*) FROM endpoints WHERE rule_id = $1",
)
API_KEYS_PER_CLIENT = CountQuota(
    "api_keys_per_client",
    "active API keys",
    "client",
    "SELECT 1 FROM clients WHERE client_id = $1 FOR NO KEY UPDATE",
    # Revoked keys do not count: revoking one is how a tenant rotates at the limit.
    "SELECT count(*) FROM api_keys WHERE client_id = $1 AND revoked_at IS NULL",
)
SILENCES_PER_CLIENT = CountQuota(
    "silences_per_client",
    "silences that are not over",
    "client",
    "SELECT 1 FROM clients WHERE client_id = $1 FOR NO KEY UPDATE",
    # Ended silences stay for the audit but cost the evaluators nothing (they leave the
    # snapshot), so only the others count: a range of silences_client_end_idx, not the
    # client's whole history.
    "SELECT count(*) FROM silences"
    " WHERE client_id = $1 AND coalesce(ends_at, 'infinity'::timestamptz) > now()",
)


class QuotaExceeded(Exception):
    """The parent already has ``count`` children, and ``limit`` is the most it may have."""

    def __init__(self, quota: CountQuota, parent_id: object, limit: int, count: int) -> None:
        super().__init__(
            f"{quota.parent} {parent_id} has {count} {quota.what}, and {limit} is the most"
            f" it may have (quota {quota.name}); delete or revoke one first"
        )
        self.quota = quota
        self.limit = limit
        self.count = count


async def claim(conn: Conn, quota: CountQuota, parent_id: object, limit: int) -> None:
    """Inside the insert's transaction: lock the parent and make sure one more child
    fits, or raise ``QuotaExceeded``. A parent that does not exist (None, or deleted
    meanwhile) has nothing to count: the insert that follows fails on its foreign key,
    which the caller already answers 404."""
    if parent_id is None or await conn.fetchval(quota.lock_sql, parent_id) is None:
        return
    count: int = await conn.fetchval(quota.count_sql, parent_id)
    if count >= limit:
        raise QuotaExceeded(quota, parent_id, limit, count)
