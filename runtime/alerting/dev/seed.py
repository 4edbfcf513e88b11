"""The demo tenant `make dev` creates: a client, a rule, webhook + email endpoints, a key.

Written straight to Postgres (with the rule's outbox row in the same transaction, as
the rule-service does) so the demo exists even before any API is running. Re-running
is harmless; each run issues a fresh API key because only its hash is stored.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from alerting.domain import api_keys

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


async def seed_demo(conn: asyncpg.Connection[Any], webhook_url: str) -> Demo:
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
        await conn.execute(
            "INSERT INTO endpoints (endpoint_id, rule_id, type, value, signing_secret)"
            " VALUES ($1, $2, 'webhook', $3, $4), ($5, $2, 'email', $6, NULL)"
            " ON CONFLICT (rule_id, type, value) DO NOTHING",
            uuid.uuid4(),
            rule_id,
            webhook_url,
            secrets.token_urlsafe(32),
            uuid.uuid4(),
            DEMO_EMAIL,
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
