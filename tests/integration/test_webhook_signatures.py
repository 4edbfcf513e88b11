"""Standard Webhooks end to end: an endpoint created through the API, its secret shown
once, requests from the real sender verified by the official ``standardwebhooks``
package; secret rotation through the API (both secrets verify during the grace period,
only the new one after it); a receiver's 410 Gone disabling its endpoint until it is
enabled again."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.rule_service_support import Api, start_service
from tests.integration.sender_support import (
    Sender,
    Sinks,
    add_endpoint,
    announce,
    insert_notification,
    reaches,
    sender,
    sinks,
)
from tests.webhook_receiver import signature_verifies, verified

__all__ = ["sender", "sinks"]  # module fixtures from sender_support
pytestmark = pytest.mark.integration
GRACE_S = 3600  # the rule-service's ALERTING_WEBHOOK_SECRET_GRACE_S here


@pytest.fixture(scope="module")
async def admin(sender: Sender) -> AsyncIterator[Api]:
    """The rule-service API on the sender's database, with a one-hour grace period."""
    settings = dataclasses.replace(sender.settings, webhook_secret_grace_s=GRACE_S)
    service = await start_service(settings, sender.pool)
    api = Api(service.base_url, settings.require_admin_token())
    try:
        yield api
    finally:
        await api.client.aclose()
        await service.close()


@dataclasses.dataclass
class Hook:
    client_id: str
    api: Api  # the client's own key
    rule_id: str
    endpoint: dict[str, Any]  # as created, with the secret shown once

    @property
    def path(self) -> str:
        return f"/api/v1/endpoints/{self.endpoint['endpoint_id']}"


async def api_hook(admin: Api, sinks: Sinks, name: str) -> Hook:
    """A client, its key, a rule and a webhook endpoint, all through the API."""
    client_id = f"{name}-{uuid.uuid4().hex[:8]}"
    await admin.ok("POST", "/api/v1/clients", 201, json={"client_id": client_id, "name": "T"})
    key = await admin.ok("POST", f"/api/v1/clients/{client_id}/api-keys", 201, json={})
    client = admin.as_token(key["token"])
    body = {"client_id": client_id, "severity": "HIGH", "source": "payments", "name": "*"}
    rule = await client.ok("POST", "/api/v1/rules", 201, json=body)
    endpoint = await client.ok(
        "POST", f"/api/v1/rules/{rule['rule_id']}/endpoints", 201,
        json={"type": "webhook", "value": sinks.hook(client_id)},
    )  # fmt: skip
    return Hook(client_id, client, rule["rule_id"], endpoint)


async def deliver_one(sender: Sender, sinks: Sinks, hook: Hook, status: str = "SENT") -> Any:
    """One notification of the hook's rule, delivered (or not) by the real sender; the
    request the receiver got for it."""
    nid = await insert_notification(sender.pool, hook.client_id, [hook.rule_id])
    await announce(sender.settings, nid, hook.client_id)
    await reaches(sender.pool, nid, status)
    [request] = [r for r in sinks.requests(hook.client_id) if r["body"]["notification_id"] == nid]
    assert request["headers"]["webhook-id"] == request["headers"]["idempotency-key"] == nid
    return request


async def test_a_webhook_made_through_the_api_verifies_with_its_secret(
    sender: Sender, sinks: Sinks, admin: Api
) -> None:
    hook = await api_hook(admin, sinks, "std")
    secret = hook.endpoint["signing_secret"]
    assert secret.startswith("whsec_")
    assert "signing_secret" not in await hook.api.ok("GET", hook.path, 200)  # shown once

    request = await deliver_one(sender, sinks, hook)
    assert verified(request, secret) == request["body"]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 1
    assert not any(h.startswith("x-alerting") for h in request["headers"])
    tampered = {**request, "raw_body": request["raw_body"].replace('"HIGH"', '"LOW"')}
    assert not signature_verifies(tampered, secret)


async def test_during_a_rotation_both_secrets_verify_and_after_it_only_the_new_one(
    sender: Sender, sinks: Sinks, admin: Api
) -> None:
    hook = await api_hook(admin, sinks, "rot")
    old = hook.endpoint["signing_secret"]
    before = datetime.now(UTC)
    rotated = await hook.api.ok("POST", hook.path + "/rotate-secret", 200)
    new = rotated["signing_secret"]
    assert new.startswith("whsec_") and new != old
    assert rotated["endpoint_id"] == hook.endpoint["endpoint_id"]
    expires = datetime.fromisoformat(rotated["previous_secret_expires_at"])
    assert timedelta(seconds=GRACE_S - 60) < expires - before < timedelta(seconds=GRACE_S + 60)

    during = await deliver_one(sender, sinks, hook)
    assert len(during["headers"]["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert verified(during, secret) == during["body"]  # the same request, both secrets

    # The grace period ends (the sender compares the expiry with the database's clock).
    await sender.pool.execute(
        "UPDATE endpoints SET previous_secret_expires_at = now() - interval '1 second'"
        " WHERE endpoint_id = $1",
        uuid.UUID(hook.endpoint["endpoint_id"]),
    )
    after = await deliver_one(sender, sinks, hook)
    assert verified(after, new) == after["body"]
    assert not signature_verifies(after, old)
    assert len(after["headers"]["webhook-signature"].split(" ")) == 1


async def test_a_second_rotation_keeps_only_the_two_newest_secrets(
    sender: Sender, sinks: Sinks, admin: Api
) -> None:
    hook = await api_hook(admin, sinks, "rot2")
    first = hook.endpoint["signing_secret"]
    second = (await hook.api.ok("POST", hook.path + "/rotate-secret", 200))["signing_secret"]
    third = (await admin.ok("POST", hook.path + "/rotate-secret", 200))["signing_secret"]

    request = await deliver_one(sender, sinks, hook)
    assert verified(request, third) == verified(request, second) == request["body"]
    assert not signature_verifies(request, first)


async def test_a_legacy_secret_verifies_by_its_bytes_and_rotating_gives_a_standard_one(
    sender: Sender, sinks: Sinks, admin: Api
) -> None:
    hook = await api_hook(admin, sinks, "legacy")
    await admin.ok("DELETE", hook.path, 204)
    # An endpoint made before Standard Webhooks: a plain token as its secret.
    legacy = await add_endpoint(sender.pool, hook.rule_id, "webhook", sinks.hook(hook.client_id))
    endpoint_id = await sender.pool.fetchval(
        "SELECT endpoint_id::text FROM endpoints WHERE rule_id = $1", uuid.UUID(hook.rule_id)
    )
    hook = dataclasses.replace(hook, endpoint={"endpoint_id": endpoint_id})
    assert verified(await deliver_one(sender, sinks, hook), legacy)

    rotated = await hook.api.ok("POST", hook.path + "/rotate-secret", 200)
    request = await deliver_one(sender, sinks, hook)
    assert rotated["signing_secret"].startswith("whsec_")
    assert verified(request, rotated["signing_secret"]) == verified(request, legacy)


async def test_rotation_is_for_own_signing_endpoints_only_and_audited(
    sender: Sender, sinks: Sinks, admin: Api
) -> None:
    hook = await api_hook(admin, sinks, "own")
    other = await api_hook(admin, sinks, "other")
    theirs = await other.api.post(hook.path + "/rotate-secret")
    assert theirs.status_code == 404, theirs.text
    unknown = await hook.api.post(f"/api/v1/endpoints/{uuid.uuid4()}/rotate-secret")
    assert unknown.status_code == 404
    ingest = await admin.ok("POST", "/api/v1/api-keys", 201, json={"scope": "ingest"})
    refused_key = await admin.as_token(ingest["token"]).post(hook.path + "/rotate-secret")
    assert refused_key.status_code == 403

    mail = await hook.api.ok(
        "POST", f"/api/v1/rules/{hook.rule_id}/endpoints", 201,
        json={"type": "email", "value": f"{hook.client_id}@example.com"},
    )  # fmt: skip
    refused = await hook.api.post(f"/api/v1/endpoints/{mail['endpoint_id']}/rotate-secret")
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["detail"] == (
        "an endpoint of type 'email' does not sign its requests: it has no secret to"
        " rotate (only webhook endpoints have one)"
    )

    rotated = await hook.api.ok("POST", hook.path + "/rotate-secret", 200)
    assert rotated["signing_secret"] != hook.endpoint["signing_secret"]
    audit = await admin.ok(
        "GET", "/api/v1/audit", 200,
        params={"client_id": hook.client_id, "action": "endpoint.rotate_secret"},
    )  # fmt: skip
    [entry] = audit["items"]
    assert entry["resource_id"] == hook.endpoint["endpoint_id"]
    assert entry["actor"].startswith("key:")
    assert set(entry["details"]) == {"previous_secret_expires_at"}
    assert datetime.fromisoformat(entry["details"]["previous_secret_expires_at"]) == (
        datetime.fromisoformat(rotated["previous_secret_expires_at"])
    )
    assert rotated["signing_secret"] not in str(entry)


async def test_a_410_gone_disables_the_endpoint_until_it_is_enabled_again(
    sender: Sender, sinks: Sinks, admin: Api
) -> None:
    hook = await api_hook(admin, sinks, "gone")
    sinks.script(hook.client_id, 410)
    nid = await insert_notification(sender.pool, hook.client_id, [hook.rule_id])
    await announce(sender.settings, nid, hook.client_id)
    row = await reaches(sender.pool, nid, "FAILED")
    assert row["attempts"] == 1 and "HTTP 410" in row["last_error"]

    shown = await hook.api.ok("GET", hook.path, 200)
    assert shown["enabled"] is False
    assert shown["disabled_reason"].startswith("receiver answered 410 Gone at ")
    disabled_at = datetime.fromisoformat(shown["disabled_at"])
    assert abs(datetime.now(UTC) - disabled_at) < timedelta(minutes=1)
    listed = await hook.api.ok("GET", f"/api/v1/rules/{hook.rule_id}/endpoints", 200)
    assert listed["items"][0]["disabled_reason"] == shown["disabled_reason"]
    detail = await hook.api.ok("GET", f"/api/v1/notifications/{nid}", 200)
    assert [(d["status"], d["response_code"]) for d in detail["deliveries"]] == [("FAILED", 410)]

    # Disabled: the next notification reaches nobody.
    quiet = await insert_notification(sender.pool, hook.client_id, [hook.rule_id])
    await announce(sender.settings, quiet, hook.client_id)
    row = await reaches(sender.pool, quiet, "FAILED")
    assert "no enabled endpoint" in row["last_error"]
    assert len(sinks.requests(hook.client_id)) == 1

    # Another field changed: still disabled, still saying why.
    kept = await hook.api.ok("PATCH", hook.path, 200, json={"send_resolved": False})
    assert (kept["enabled"], kept["disabled_reason"]) == (False, shown["disabled_reason"])
    enabled = await hook.api.ok("PATCH", hook.path, 200, json={"enabled": True})
    assert (enabled["enabled"], enabled["disabled_reason"], enabled["disabled_at"]) == (
        True, None, None,
    )  # fmt: skip
    request = await deliver_one(sender, sinks, hook)
    assert verified(request, hook.endpoint["signing_secret"]) == request["body"]


async def test_the_route_and_the_fields_are_in_openapi(admin: Api) -> None:
    doc = await admin.ok("GET", "/openapi.json", 200)
    route = doc["paths"]["/api/v1/endpoints/{endpoint_id}/rotate-secret"]["post"]
    assert set(route["responses"]) >= {"200", "404", "409"}
    rotated = doc["components"]["schemas"]["SecretRotated"]["properties"]
    assert set(rotated) == {"endpoint_id", "signing_secret", "previous_secret_expires_at"}
    endpoint = doc["components"]["schemas"]["Endpoint"]["properties"]
    assert {"disabled_reason", "disabled_at"} <= set(endpoint)
