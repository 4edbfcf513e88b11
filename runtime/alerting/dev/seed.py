"""The demo tenant `make dev` creates: a client, a rule, webhook + email endpoints, a key.
The webhook's signing secret is stored sealed, as the rule-service stores it.

Written straight to Postgres (with the rule's outbox row in the same transaction, as
the rule-service does) so the demo exists even before any API is running. Re-running
is harmless; each run issues a fresh API key because only its hash is stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from alerting.channels.standard_webhooks import new_secret
from alerting.domain import api_keys
from alerting.sealed import ENDPOINT_SIGNING_SECRET, Keyring

DEMO_CLIENT = "demo"
DEMO_RULE = ("HIGH", "payments", "*")
DEMO_EMAIL = "oncall@demo.example"


@dataclass(frozen=True)
class Demo:
    client_id: str
    rule_id: str
    api_key: str
    webhook_url: str
    email: str


async def seed_demo(conn: asyncpg.Connection[Any], webhook_url: str, keyring: Keyring) -> Demo:
    severity, source, name = DEMO_RULE
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO clients (client_id, name) VALUES ($1, 'Demo tenant')"
            " ON CONFLICT (client_id) DO NOTHING",
            DEMO_CLIENT,
        )
        rule_id = await conn.fetchval(
            "INSERT INTO rules (rule_id, client_id, severity, source, name)"
            " VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (client_id, severity, source, name) DO NOTHING RETURNING rule_id",
            uuid.uuid4(),
            DEMO_CLIENT,
            severity,
            source,
            name,
        )
        if rule_id is not None:
            await conn.execute(
                "INSERT INTO rule_outbox (rule_id, client_id, action, version)"
                " VALUES ($1, $2, 'CREATED', 1)",
                rule_id,
                DEMO_CLIENT,
            )
        else:
            rule_id = await conn.fetchval(
                "SELECT rule_id FROM rules WHERE client_id = $1 AND severity = $2"
                " AND source = $3 AND name = $4",
                DEMO_CLIENT,
                severity,
                source,
                name,
            )
        hook_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO endpoints (endpoint_id, rule_id, type, value, signing_secret)"
            " VALUES ($1, $2, 'webhook', $3, $4), ($5, $2, 'email', $6, NULL)"
            " ON CONFLICT (rule_id, type, value) DO NOTHING",
            hook_id,
            rule_id,
            webhook_url,
            keyring.seal(new_secret(), ENDPOINT_SIGNING_SECRET.binding(hook_id)),
            uuid.uuid4(),
            DEMO_EMAIL,
        )
        # An earlier run's webhook row may be sealed with a key this run does not hold
        # (another data dir, the same database): its secret is never shown, so it is
        # simply replaced by one sealed with this run's key.
        kept = await conn.fetchval(
            "SELECT endpoint_id FROM endpoints WHERE rule_id = $1 AND type = 'webhook'"
            " AND value = $2",
            rule_id,
            webhook_url,
        )
        if kept != hook_id:
            await conn.execute(
                "UPDATE endpoints SET signing_secret = $2 WHERE endpoint_id = $1",
                kept,
                keyring.seal(new_secret(), ENDPOINT_SIGNING_SECRET.binding(kept)),
            )
        key = api_keys.generate()
        await conn.execute(
            "INSERT INTO api_keys (key_id, prefix, secret_hash, scope, client_id, description)"
            " VALUES ($1, $2, $3, 'client', $4, 'make dev demo key')",
            uuid.uuid4(),
            key.prefix,
            key.secret_hash,
            DEMO_CLIENT,
        )
    return Demo(DEMO_CLIENT, str(rule_id), key.token, webhook_url, DEMO_EMAIL)
