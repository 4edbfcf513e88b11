"""Adding a channel is one module: a channel defined only in this file, once registered,
is accepted by the rule-service API (its own validation and 422 message), listed in the
OpenAPI enum, and delivered to by the real sender Worker against real Postgres. Nothing
else is edited; without the ``register`` call every step here fails."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest

from alerting.adapters import postgres
from alerting.adapters.http_post import HttpPoster
from alerting.adapters.kafka import Record
from alerting.adapters.smtp import SmtpPool
from alerting.adapters.url_guard import UrlGuard
from alerting.channels import registry
from alerting.channels.base import Credential, InvalidValue, Outbound, UrlPolicy
from alerting.config import Settings
from alerting.domain.delivery import Attempt, Target
from alerting.domain.delivery_messages import OutgoingNotification
from alerting.domain.delivery_rate import Rate
from alerting.domain.model import NotificationReady
from alerting.services.sender.channels import Channels
from alerting.services.sender.repo import PostgresSenderStore
from alerting.services.sender.worker import Worker
from tests.integration.rule_service_support import Api, fresh_database, start_service
from tests.integration.sender_support import insert_notification

pytestmark = pytest.mark.integration

ROUTING_KEY = re.compile(r"^pager:[A-Za-z0-9]{8,64}$")
REFUSAL = "not a pager routing key: expected pager:<8 to 64 letters or digits>"


@dataclass
class PagerChannel:
    """A test-only channel: routing keys, stored lower-case; a page is a line of text."""

    name: str = "test_pager"
    signed: bool = False
    credential: Credential | None = None
    default_rate: Rate | None = None
    pages: list[tuple[str, str]] = field(default_factory=list)  # (routing key, page)

    async def validate(self, value: str, policy: UrlPolicy) -> str:
        if not ROUTING_KEY.fullmatch(value):
            raise InvalidValue(REFUSAL)
        return value.lower()

    def identity(self, value: str) -> str:
        return value

    def render(
        self, n: OutgoingNotification, target: Target, outbound: Outbound, now_s: float
    ) -> str:
        return f"{int(now_s)} {n.notification_id} {n.title}"

    async def deliver(self, n: OutgoingNotification, target: Target, outbound: Outbound) -> Attempt:
        self.pages.append((target.value, self.render(n, target, outbound, outbound.wall_clock())))
        return Attempt.sent(202)


@pytest.fixture
def pager() -> Iterator[PagerChannel]:
    channel = PagerChannel()
    registry.register(channel)
    try:
        yield channel
    finally:
        registry.unregister(channel.name)


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[tuple[Settings, asyncpg.Pool[Any]]]:
    async with fresh_database(settings) as db:
        pool = await postgres.create_pool(db)
        try:
            yield db, pool
        finally:
            await pool.close()


def ready(notification_id: str, client_id: str) -> Record[NotificationReady]:
    event = NotificationReady(notification_id, client_id, f"a-{notification_id}")
    return Record("nr", 0, 0, client_id.encode(), event, 0)


async def deliver_once(db: Settings, pool: asyncpg.Pool[Any], ids: list[str]) -> None:
    """The real sender path: claim the ready notifications, deliver, record the outcome."""
    http = HttpPoster(4, 5.0, allow_private=True)
    smtp = SmtpPool(db.smtp, 1, 5.0)
    worker = Worker(
        PostgresSenderStore(pool), Channels(db, http, smtp, UrlGuard(True)), db.sender, "test:1"
    )
    try:
        await worker.handle_ready([ready(i, "acme") for i in ids])
        await worker.drain()
    finally:
        await http.close()
        await smtp.close()


async def test_a_channel_defined_here_is_validated_listed_and_delivered_to(
    pager: PagerChannel, database: tuple[Settings, asyncpg.Pool[Any]]
) -> None:
    db, pool = database
    service = await start_service(db, pool)  # after register: its OpenAPI document lists it
    admin = Api(service.base_url, db.require_admin_token())
    try:
        doc = await admin.ok("GET", "/openapi.json", 200)
        schemas = doc["components"]["schemas"]
        for model in ("EndpointCreate", "Endpoint"):
            assert "test_pager" in schemas[model]["properties"]["type"]["enum"]

        await admin.ok("POST", "/api/v1/clients", 201, json={"client_id": "acme", "name": "A"})
        rule_body = {"client_id": "acme", "severity": "HIGH", "source": "payments", "name": "*"}
        rule = await admin.ok("POST", "/api/v1/rules", 201, json=rule_body)
        of_rule = f"/api/v1/rules/{rule['rule_id']}/endpoints"

        refused = await admin.post(of_rule, json={"type": "test_pager", "value": "pager:short"})
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"] == [{"field": "value", "message": REFUSAL}]

        created = await admin.ok(
            "POST", of_rule, 201, json={"type": "test_pager", "value": "pager:OnCall2024"}
        )
        assert created["type"] == "test_pager" and created["value"] == "pager:oncall2024"
        assert created["signing_secret"] is None  # the channel does not sign
    finally:
        await admin.client.aclose()
        await service.close()

    sent = await insert_notification(pool, "acme", [rule["rule_id"]])
    await deliver_once(db, pool, [sent])
    [(routing_key, page)] = pager.pages
    assert routing_key == "pager:oncall2024"
    assert page.endswith(f" {sent} [FIRING] [HIGH] payments: checkout_errors")
    row = await pool.fetchrow(
        "SELECT n.status, d.endpoint_type, d.status AS delivery, d.response_code"
        " FROM notifications n JOIN deliveries d USING (notification_id)"
        " WHERE n.notification_id = $1",
        uuid.UUID(sent),
    )
    assert dict(row or {}) == {
        "status": "SENT", "endpoint_type": "test_pager", "delivery": "SENT", "response_code": 202,
    }  # fmt: skip

    # The sender finds channels only in the registry: once the channel is gone, its
    # endpoints fail (permanently, until someone re-drives them) instead of being sent.
    registry.unregister(pager.name)
    orphan = await insert_notification(pool, "acme", [rule["rule_id"]])
    await deliver_once(db, pool, [orphan])
    assert len(pager.pages) == 1
    status, error = await pool.fetchrow(
        "SELECT status, last_error FROM notifications WHERE notification_id = $1",
        uuid.UUID(orphan),
    )
    assert status == "FAILED" and "unknown endpoint type 'test_pager'" in error
