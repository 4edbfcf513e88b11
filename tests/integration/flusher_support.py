"""Shared by the group flusher's tests: a digest channel, and groups seeded as the join
path leaves them (GROUPED notifications and deliveries naming their group).

Not a test module: ``test_sender_flusher*.py`` import from here.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import asyncpg
import pytest

from alerting.channels import dispatch, registry
from alerting.channels.base import Credential, InvalidValue, Outbound, UrlPolicy
from alerting.config import Settings
from alerting.domain.delivery import Attempt, Target
from alerting.domain.delivery_messages import Digest, OutgoingNotification
from alerting.domain.delivery_rate import Rate
from alerting.services.sender.flusher import Flusher
from alerting.services.sender.group_repo import PostgresGroupStore
from alerting.services.sender.group_store import GroupStore
from alerting.services.sender.repo import PostgresSenderStore
from tests.integration.sender_support import add_endpoint, insert_notification, pool, seed_rule

__all__ = ["pool"]  # a fixture, for the flusher tests that import it from here

CHANNEL = "test_digest"


@dataclass
class DigestSink:
    """A test-only channel that takes digests: records each, answers from ``answers``
    (then 200), optionally after ``delay_s``."""

    name: str = CHANNEL
    signed: bool = False
    credential: Credential | None = None
    default_rate: Rate | None = None
    digests: list[Digest] = field(default_factory=list)
    answers: list[Attempt] = field(default_factory=list)
    delay_s: float = 0.0

    async def validate(self, value: str, policy: UrlPolicy) -> str:
        if not value:
            raise InvalidValue("empty")
        return value

    def identity(self, value: str) -> str:
        return value

    def render(
        self, n: OutgoingNotification, target: Target, outbound: Outbound, now_s: float
    ) -> str:
        return n.title

    async def deliver(self, n: OutgoingNotification, target: Target, outbound: Outbound) -> Attempt:
        return Attempt.permanent("single notifications are not this channel's")

    def render_digest(self, d: Digest, target: Target, outbound: Outbound, now_s: float) -> str:
        return d.title

    async def deliver_digest(self, d: Digest, target: Target, outbound: Outbound) -> Attempt:
        self.digests.append(d)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return self.answers.pop(0) if self.answers else Attempt.sent(200)


class Dispatch:
    """The sender's ``Channels.deliver_digest`` without its transports (unused here)."""

    async def deliver_digest(self, d: Digest, target: Target) -> Attempt:
        outbound = Outbound(None, None, None, "alerts@example.com", lambda: 0.0)  # type: ignore[arg-type]
        return await dispatch.deliver_digest(d, target, outbound)


@pytest.fixture
def sink() -> Iterator[DigestSink]:
    channel = DigestSink()
    registry.register(channel)
    try:
        yield channel
    finally:
        registry.unregister(channel.name)


def group_store(pool: asyncpg.Pool[Any]) -> PostgresGroupStore:
    return PostgresGroupStore(pool, PostgresSenderStore(pool))


def flusher(
    pool: asyncpg.Pool[Any],
    settings: Settings,
    owner: str = "f:1",
    store: GroupStore | None = None,
    **sender: Any,
) -> Flusher:
    """A flusher over the real store (or ``store``), delivering through the registry."""
    own = group_store(pool) if store is None else store
    return Flusher(own, Dispatch(), replace(settings.sender, **sender), owner)


@dataclass
class Group:
    group_id: str
    rule_id: str
    endpoint_id: str
    members: list[str]


async def seed_group(
    pool: asyncpg.Pool[Any],
    members: int = 3,
    *,
    client_id: str = "acme",
    kind: str = "firing",
    due_in_s: float = -1,
    delivery: str = "GROUPED",
    endpoint: tuple[str, str] | None = None,  # (type, value); the test channel's if None
    **group: Any,
) -> Group:
    """An open group of ``members`` notifications (GROUPED, their deliveries to the
    group's endpoint waiting), due ``due_in_s`` from now."""
    rule = await seed_rule(pool, client_id)
    channel, value = endpoint or (CHANNEL, f"sink-{uuid.uuid4().hex[:8]}")
    added = await add_endpoint(pool, rule, channel, value)
    endpoint_id = await pool.fetchval(
        "SELECT endpoint_id::text FROM endpoints WHERE rule_id = $1::uuid", rule
    )
    group_id = str(uuid.uuid4())
    columns = {"group_wait_s": 30, "group_interval_s": 300, "repeat_interval_s": 3600, **group}
    names = "".join(f", {k}" for k in columns)
    params = "".join(f", ${i}" for i in range(6, 6 + len(columns)))
    await pool.execute(
        "INSERT INTO notification_groups (group_id, client_id, rule_id, endpoint_id, kind,"
        f" labels, group_key, key_hash{names}) VALUES ($1::uuid, $2, $3::uuid, $4::uuid, $5,"
        f" '{{\"source\": \"payments\"}}', '{{\"source\":\"payments\"}}',"
        f" encode(sha256(convert_to('{{\"source\":\"payments\"}}', 'UTF8')), 'hex'){params})",
        group_id, client_id, rule, endpoint_id, kind, *columns.values(),
    )  # fmt: skip
    ids = []
    for _ in range(members):
        nid = await insert_notification(pool, client_id, [rule], status="GROUPED")
        await pool.execute(
            "INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status,"
            " group_id) VALUES ($1::uuid, $2::uuid, $3, $4, $5::uuid)",
            nid, endpoint_id, channel, delivery, group_id,
        )  # fmt: skip
        ids.append(nid)
    # Due only once every member is in: a sender process running meanwhile (the
    # process tests) would otherwise flush the members seeded so far.
    await pool.execute(
        "UPDATE notification_groups SET due_at = now() + make_interval(secs => $2)"
        " WHERE group_id = $1::uuid",
        group_id, float(due_in_s),
    )  # fmt: skip
    del added  # a webhook's secret, or the id: read back above either way
    return Group(group_id, rule, endpoint_id, sorted(ids))


async def group_row(pool: asyncpg.Pool[Any], group_id: str) -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT *, due_at - now() AS due_in, last_flushed_at IS NOT NULL AS flushed"
        " FROM notification_groups WHERE group_id = $1::uuid",
        group_id,
    )
    assert row is not None
    return row


async def deliveries(pool: asyncpg.Pool[Any], group: Group) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT d.notification_id::text AS id, d.status, d.attempts, d.last_error,"
        " d.digest_id::text, n.status AS notification, n.last_error AS notification_error,"
        " n.sent_at FROM deliveries d JOIN notifications n USING (notification_id)"
        " WHERE d.group_id = $1::uuid ORDER BY d.notification_id",
        group.group_id,
    )


async def attempt_log(pool: asyncpg.Pool[Any], group: Group) -> list[tuple[str, int, str, str]]:
    rows = await pool.fetch(
        "SELECT a.notification_id::text, a.attempt, a.outcome, a.digest_id::text"
        " FROM delivery_attempts a JOIN deliveries d USING (notification_id, endpoint_id)"
        " WHERE d.group_id = $1::uuid ORDER BY 1, 2",
        group.group_id,
    )
    return [tuple(r) for r in rows]
