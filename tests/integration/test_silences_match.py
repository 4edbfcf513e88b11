"""Silences beyond CRUD: /match lists the silences that would mute a sample (the
caller's only), the quota on silences not yet over, and the outbox relay publishing
RuleChanged with entity SILENCE."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from alerting import codec
from alerting.adapters.kafka import BatchProducer
from alerting.config import QuotaSettings, Settings
from alerting.domain.model import ChangedEntity, RuleAction
from alerting.services.rule_service.outbox_relay import OutboxRelay
from tests.integration.rule_service_support import *  # noqa: F403
from tests.integration.rule_service_support import Api, NewClient, RunningService, start_service
from tests.integration.silence_support import SILENCES, all_week, in_, silence_body
from tests.kafka_helpers import make_topic, read_topic

pytestmark = pytest.mark.integration
MATCH = "/api/v1/match"


def sample(**over: Any) -> dict[str, Any]:
    return {"severity": "HIGH", "source": "db", "name": "down", **over}


async def test_match_lists_the_silences_that_would_mute_the_sample(
    admin: Api, new_client: NewClient
) -> None:
    cid, api = await new_client("m")
    other, them = await new_client("m")
    by_source = await api.ok("POST", SILENCES, 201, json=silence_body(cid))
    prod_only = [{"name": "context.env", "op": "=~", "value": "prod|live"}]
    by_context = await api.ok("POST", SILENCES, 201, json=silence_body(cid, matchers=prod_only))
    high = [{"name": "severity", "op": "=", "value": "HIGH"}]
    lima = silence_body(cid, matchers=high, ends_at=None, schedule=all_week("America/Lima"))
    window = await api.ok("POST", SILENCES, 201, json=lima)
    later = silence_body(cid, starts_at=in_(hours=1), ends_at=in_(hours=2))
    await api.ok("POST", SILENCES, 201, json=later)  # not started: mutes nothing yet
    expired = await api.ok("POST", SILENCES, 201, json=silence_body(cid))
    await api.ok("DELETE", f"{SILENCES}/{expired['silence_id']}", 204)
    not_high = [{"name": "severity", "op": "!=", "value": "HIGH"}]
    await api.ok("POST", SILENCES, 201, json=silence_body(cid, matchers=not_high))
    theirs = await them.ok("POST", SILENCES, 201, json=silence_body(other))

    answer = await api.ok("POST", MATCH, 200, json=sample())
    assert {s["silence_id"] for s in answer["silences"]} == {
        by_source["silence_id"],
        window["silence_id"],
    }
    first = next(s for s in answer["silences"] if s["silence_id"] == by_source["silence_id"])
    assert first["comment"] == "maintenance" and first["ends_at"] == by_source["ends_at"]

    with_context = await api.ok("POST", MATCH, 200, json=sample(context={"env": "live"}))
    assert by_context["silence_id"] in {s["silence_id"] for s in with_context["silences"]}
    elsewhere = await api.ok("POST", MATCH, 200, json=sample(source="web"))
    assert [s["silence_id"] for s in elsewhere["silences"]] == [window["silence_id"]]

    # The other tenant's silence is never in my answer; an admin sees both, or one client.
    assert theirs["silence_id"] not in {s["silence_id"] for s in answer["silences"]}
    mine_only = await api.ok("POST", MATCH, 200, json=sample(client_id=other))
    assert mine_only["silences"] == []
    everyone = await admin.ok("POST", MATCH, 200, json=sample())
    assert {theirs["silence_id"], by_source["silence_id"]} <= {
        s["silence_id"] for s in everyone["silences"]
    }
    one = await admin.ok("POST", MATCH, 200, json=sample(client_id=other))
    assert [s["silence_id"] for s in one["silences"]] == [theirs["silence_id"]]


LIMITS = QuotaSettings(
    rules_per_client=10,
    endpoints_per_rule=2,
    api_keys_per_client=2,
    ingest_alerts_per_s=1,
    ingest_burst=1000,
    silences_per_client=2,
)


@pytest.fixture(scope="module")
async def quota_service(
    rs_settings: Settings, rule_pool: asyncpg.Pool[Any]
) -> AsyncIterator[RunningService]:
    running = await start_service(dataclasses.replace(rs_settings, quotas=LIMITS), rule_pool)
    try:
        yield running
    finally:
        await running.close()


async def test_silences_not_over_are_counted_by_the_quota(quota_service: RunningService) -> None:
    boss = Api(quota_service.base_url, quota_service.settings.require_admin_token())
    cid = f"qs-{uuid.uuid4().hex[:8]}"
    await boss.ok("POST", "/api/v1/clients", 201, json={"client_id": cid, "name": "Q"})
    first = await boss.ok("POST", SILENCES, 201, json=silence_body(cid))
    await boss.ok("POST", SILENCES, 201, json=silence_body(cid))
    refused = await boss.post(SILENCES, json=silence_body(cid))
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["quota"] == "silences_per_client" and problem["limit"] == 2
    assert problem["count"] == 2
    await boss.ok("DELETE", f"{SILENCES}/{first['silence_id']}", 204)  # expired: not counted
    await boss.ok("POST", SILENCES, 201, json=silence_body(cid))


async def test_the_relay_publishes_silence_changes_with_their_entity(
    settings: Settings, rule_pool: asyncpg.Pool[Any], new_client: NewClient, unique: str
) -> None:
    cid, api = await new_client("relay")
    created = await api.ok("POST", SILENCES, 201, json=silence_body(cid))
    await api.ok("DELETE", f"{SILENCES}/{created['silence_id']}", 204)
    topic = f"rc-silences-{unique}"
    await make_topic(settings.kafka, topic)
    producer = BatchProducer(settings.kafka)
    relay = OutboxRelay(rule_pool, producer, topic)
    published = 0
    await producer.start()
    try:
        while count := await relay.publish_pending():
            published += count
    finally:
        await producer.stop()
    records = await read_topic(settings.kafka, topic, expected=published)
    changes = [codec.decode_rule_change(r.value) for r in records if r.value is not None]
    mine = [c for c in changes if c.rule_id == created["silence_id"]]
    assert [(c.entity, c.action, c.version, c.client_id) for c in mine] == [
        (ChangedEntity.SILENCE, RuleAction.CREATED, 1, cid),
        (ChangedEntity.SILENCE, RuleAction.DELETED, 2, cid),
    ]


async def test_a_stored_silence_the_domain_refuses_fails_no_request(
    rule_pool: asyncpg.Pool[Any], new_client: NewClient
) -> None:
    """Validated when written, it may not hold later (a regex a newer RE2 refuses): it
    is shown as stored, mutes nothing, and neither the list, the get nor /match fail."""
    cid, api = await new_client("bad")
    broken = await api.ok("POST", SILENCES, 201, json=silence_body(cid))
    good = await api.ok("POST", SILENCES, 201, json=silence_body(cid))
    stored = [{"name": "source", "op": "=~", "value": "(unclosed"}]
    await rule_pool.execute(
        "UPDATE silences SET matchers = $2 WHERE silence_id = $1",
        uuid.UUID(broken["silence_id"]), stored,
    )  # fmt: skip
    one = await api.ok("GET", f"{SILENCES}/{broken['silence_id']}", 200)
    assert one["matchers"] == stored and one["state"] == "pending"
    listed = await api.ok("GET", SILENCES, 200, params={"client_id": cid})
    assert {s["silence_id"] for s in listed["items"]} == {broken["silence_id"], good["silence_id"]}
    answer = await api.ok("POST", MATCH, 200, json=sample())
    assert [s["silence_id"] for s in answer["silences"]] == [good["silence_id"]]
    patched = await api.patch(
        f"{SILENCES}/{broken['silence_id']}", json={"version": 1, "comment": "x"}
    )
    assert patched.status_code == 409 and "expire it" in patched.json()["detail"]
    await api.ok("DELETE", f"{SILENCES}/{broken['silence_id']}", 204)
    gone = await api.ok("GET", f"{SILENCES}/{broken['silence_id']}", 200)
    assert gone["state"] == "expired"
