"""``POST /api/v1/endpoints/{id}/rotate-secret``: a new signing secret for an endpoint
whose channel signs (webhooks), shown once. The replaced secret stays valid for the
grace period (``ALERTING_WEBHOOK_SECRET_GRACE_S``): the sender signs with both, one
Standard Webhooks signature each, so a receiver switches secrets without rejecting a
request in between. A rotation within the grace period drops the older previous secret:
two valid secrets at most."""

from __future__ import annotations

import logging
from uuid import UUID

from alerting.channels import registry
from alerting.channels.standard_webhooks import new_secret
from alerting.sealed import ENDPOINT_PREVIOUS_SECRET, ENDPOINT_SIGNING_SECRET, Keyring, SealError
from alerting.services.rule_service.audit_trail import audited
from alerting.services.rule_service.models.endpoint_secrets import SecretRotated
from alerting.services.rule_service.operation import Ctx, Operation
from alerting.services.rule_service.repo import endpoint_secrets as repo
from alerting.web import problems

log = logging.getLogger(__name__)
UNOPENED = (
    "the current signing secret cannot be opened with this service's ALERTING_SECRET_KEYS,"
    " so it could not be kept valid during the rotation; nothing was changed (an operator"
    " must restore the key it was sealed with)"
)


def _previous(keyring: Keyring, endpoint_id: UUID, stored: str | None) -> str | None:
    """The current secret sealed again for the previous column: a sealed value is bound
    to its column, so it cannot simply be copied there."""
    if stored is None:
        return None
    try:
        secret = keyring.open(stored, ENDPOINT_SIGNING_SECRET.binding(endpoint_id))
    except SealError as exc:  # names the key id, never a secret
        log.error("endpoint %s: rotation refused: %s", endpoint_id, exc)
        raise problems.conflict(UNOPENED) from None
    return keyring.seal(secret, ENDPOINT_PREVIOUS_SECRET.binding(endpoint_id))


async def rotate_secret(ctx: Ctx) -> SecretRotated:
    endpoint_id = ctx.path_id("endpoint_id", "endpoint")
    keyring = Keyring.from_settings(ctx.deps.settings)
    secret = new_secret()  # in this answer only
    async with audited(ctx) as change:
        row = await repo.lock(change.conn, endpoint_id, ctx.principal.owner)
        if row is None:
            raise problems.not_found("endpoint")
        channel = registry.find(row["type"])
        if channel is None or not channel.signed:
            raise problems.conflict(
                f"an endpoint of type {row['type']!r} does not sign its requests: it has no"
                " secret to rotate (only webhook endpoints have one)"
            )
        previous = _previous(keyring, endpoint_id, row["signing_secret"])
        current = keyring.seal(secret, ENDPOINT_SIGNING_SECRET.binding(endpoint_id))
        grace_s = ctx.deps.settings.webhook_secret_grace_s
        updated = await repo.replace(change.conn, endpoint_id, current, previous, grace_s)
        expires = updated["previous_secret_expires_at"]
        change.record(
            "endpoint.rotate_secret",
            endpoint_id,
            row["client_id"],
            previous_secret_expires_at=None if expires is None else expires.isoformat(),
        )
    return SecretRotated(
        endpoint_id=endpoint_id, signing_secret=secret, previous_secret_expires_at=expires
    )


OPERATIONS = (
    Operation("POST", "/api/v1/endpoints/{endpoint_id}/rotate-secret", rotate_secret,
              "Rotate a webhook endpoint's signing secret (the old one stays valid for the"
              " grace period)", "endpoints", response=SecretRotated, errors=(409,),
              carries_secret=True),
)  # fmt: skip
