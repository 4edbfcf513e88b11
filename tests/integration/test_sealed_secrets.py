"""Secrets at rest: an endpoint's signing secret is stored sealed (never readable in
Postgres), the sender signs with the opened secret, rows written before sealing keep
working, and `alerting secrets rotate` re-seals everything under a new key while old
and new keys both open."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from alerting.adapters import postgres
from alerting.adapters.http_post import HttpPoster
from alerting.adapters.kafka import Record
from alerting.adapters.smtp import SmtpPool
from alerting.adapters.url_guard import UrlGuard
from alerting.config import Settings
from alerting.domain.model import NotificationReady
from alerting.sealed import ENDPOINT_SIGNING_SECRET, Keyring
from alerting.secret_keys import SecretKey
from alerting.services.sender.channels import Channels
from alerting.services.sender.repo import PostgresSenderStore
from alerting.services.sender.worker import Worker
from tests.integration.rule_service_support import Api, fresh_database, start_service
from tests.integration.sender_support import (
    Sender,
    Sinks,
    add_endpoint,
    announce,
    insert_notification,
    reaches,
    running_sender,
    seed_rule,
    sinks,
)
from tests.webhook_receiver import verified

__all__ = ["sinks"]  # a module fixture from sender_support
pytestmark = pytest.mark.integration

NEW_KEY = bytes(range(200, 232))
NEW = f"new:{base64.b64encode(NEW_KEY).decode()}"
GONE_KEY = SecretKey("gone", bytes(32))


def session_keyring(base_env: dict[str, str]) -> Keyring:
    """The tests' own key (conftest's base_env), the one rule-service seals with here."""
    key_id, _, text = base_env["ALERTING_SECRET_KEYS"].partition(":")
    return Keyring((SecretKey(key_id, base64.b64decode(text)),))


@pytest.fixture(scope="module")
async def sender(
    base_env: dict[str, str],
    settings: Settings,
    sinks: Sinks,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Sender]:
    """A sender in the middle of a rotation (docs/deployment.md, step 2 on): the new key
    first, the session's after it."""
    rotating = f"{NEW},{base_env['ALERTING_SECRET_KEYS']}"
    log_dir = tmp_path_factory.mktemp("sealed-sender")
    async with running_sender(
        base_env, settings, sinks, log_dir, ALERTING_SECRET_KEYS=rotating
    ) as running:
        yield running


async def stored(pool: asyncpg.Pool[Any], endpoint_id: str) -> str:
    value: str = await pool.fetchval(
        "SELECT signing_secret FROM endpoints WHERE endpoint_id = $1", uuid.UUID(endpoint_id)
    )
    return value


async def api_webhook(
    db: Settings, pool: asyncpg.Pool[Any], client_id: str, url: str
) -> tuple[str, str, str]:
    """Through the rule-service API (sealing with the session's key): a client, a rule
    and a webhook endpoint; (rule_id, endpoint_id, the secret shown once)."""
    service = await start_service(db, pool)
    admin = Api(service.base_url, db.require_admin_token())
    try:
        await admin.ok("POST", "/api/v1/clients", 201, json={"client_id": client_id, "name": "T"})
        body = {"client_id": client_id, "severity": "HIGH", "source": "payments", "name": "*"}
        rule = await admin.ok("POST", "/api/v1/rules", 201, json=body)
        endpoint = await admin.ok(
            "POST",
            f"/api/v1/rules/{rule['rule_id']}/endpoints",
            201,
            json={"type": "webhook", "value": url},
        )
        shown = await admin.ok("GET", f"/api/v1/endpoints/{endpoint['endpoint_id']}", 200)
        assert "signing_secret" not in shown  # shown once, at creation
    finally:
        await admin.client.aclose()
        await service.close()
    return rule["rule_id"], endpoint["endpoint_id"], endpoint["signing_secret"]


async def delivered_signed(sender: Sender, sinks: Sinks, client_id: str, rule_id: str,
                           hooks: dict[str, str]) -> None:  # fmt: skip
    """One notification of ``rule_id`` reaches every hook, signed with its secret."""
    before = {hook: len(sinks.requests(hook)) for hook in hooks}
    nid = await insert_notification(sender.pool, client_id, [rule_id])
    await announce(sender.settings, nid, client_id)
    await reaches(sender.pool, nid, "SENT")
    for hook, secret in hooks.items():
        (request,) = sinks.requests(hook)[before[hook] :]
        assert request["body"]["notification_id"] == nid
        assert verified(request, secret) == request["body"], hook


def before_rotation(sender: Sender, settings: Settings) -> Settings:
    """The sender's database, with the keys the rule-service had before the rotation
    began (the session's): what it stores is sealed with the old key."""
    return dataclasses.replace(sender.settings, secret_keys=settings.secret_keys)


async def test_a_webhook_secret_is_stored_sealed_and_the_sender_signs_with_it(
    sender: Sender, sinks: Sinks, settings: Settings, base_env: dict[str, str]
) -> None:
    client_id = f"sealed-{uuid.uuid4().hex[:8]}"
    hook = f"sealed-{client_id}"
    rule_id, endpoint_id, secret = await api_webhook(
        before_rotation(sender, settings), sender.pool, client_id, sinks.hook(hook)
    )

    row = await stored(sender.pool, endpoint_id)
    assert row.startswith("v1:test:") and secret not in row
    binding = ENDPOINT_SIGNING_SECRET.binding(endpoint_id)
    assert session_keyring(base_env).open(row, binding) == secret

    await delivered_signed(sender, sinks, client_id, rule_id, {hook: secret})


async def test_a_secret_that_does_not_open_is_never_sent_unsigned(
    settings: Settings, sinks: Sinks
) -> None:
    """A sender whose keyring lacks the key retries the delivery with a clear error.
    Its own database: no sender process may pick the retry up meanwhile."""
    client_id = f"nokey-{uuid.uuid4().hex[:8]}"
    hook = f"nokey-{client_id}"
    async with fresh_database(settings) as db:
        pool = await postgres.create_pool(db)
        http, smtp = HttpPoster(4, 5.0, allow_private=True), SmtpPool(db.smtp, 1, 5.0)
        try:
            rule_id, _, _ = await api_webhook(db, pool, client_id, sinks.hook(hook))
            nid = await insert_notification(pool, client_id, [rule_id])
            store = PostgresSenderStore(pool, Keyring((GONE_KEY,)))
            channels = Channels(db, http, smtp, UrlGuard(True))
            worker = Worker(store, channels, db.sender, "test:nokey")
            event = NotificationReady(nid, client_id, f"a-{nid}")
            await worker.handle_ready([Record("nr", 0, 0, client_id.encode(), event, 0)])
            await worker.drain()
            row = await pool.fetchrow(
                "SELECT status, last_error FROM notifications WHERE notification_id = $1",
                uuid.UUID(nid),
            )
        finally:
            await http.close()
            await smtp.close()
            await pool.close()
    assert row["status"] == "RETRY"
    assert "signing secret cannot be opened with ALERTING_SECRET_KEYS" in row["last_error"]
    assert sinks.requests(hook) == []


def run_secrets(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alerting", "secrets", *argv],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_rotation_reseals_old_and_legacy_rows_while_both_keys_open(
    sender: Sender, sinks: Sinks, settings: Settings, base_env: dict[str, str]
) -> None:
    pool = sender.pool
    client_id = f"rot-{uuid.uuid4().hex[:8]}"
    sealed_hook, legacy_hook = f"rot-sealed-{client_id}", f"rot-legacy-{client_id}"
    rule_id, sealed_id, sealed_secret = await api_webhook(
        before_rotation(sender, settings), pool, client_id, sinks.hook(sealed_hook)
    )
    # Written before sealing existed: plain text in the column.
    legacy_secret = await add_endpoint(pool, rule_id, "webhook", sinks.hook(legacy_hook))
    legacy_id = str(
        await pool.fetchval("SELECT endpoint_id FROM endpoints WHERE signing_secret = $1",
                            legacy_secret)
    )  # fmt: skip
    # Sealed with a key nobody holds any more: reported, left as it is.
    other_rule = await seed_rule(pool, client_id)
    lost_id = uuid.uuid4()
    lost = Keyring((GONE_KEY,)).seal("lost", ENDPOINT_SIGNING_SECRET.binding(lost_id))
    await pool.execute(
        "INSERT INTO endpoints (endpoint_id, rule_id, type, value, signing_secret)"
        " VALUES ($1, $2, 'webhook', 'http://127.0.0.1:9/lost', $3)",
        lost_id, uuid.UUID(other_rule), lost,
    )  # fmt: skip

    # During the rotation (step 2: new key first, old after it) old and legacy rows work.
    hooks = {sealed_hook: sealed_secret, legacy_hook: legacy_secret}
    await delivered_signed(sender, sinks, client_id, rule_id, hooks)

    env = {
        "ALERTING_POSTGRES_DSN": sender.settings.postgres_dsn,
        "ALERTING_SECRET_KEYS": f"{NEW},{base_env['ALERTING_SECRET_KEYS']}",
    }
    first = await asyncio.to_thread(run_secrets, env, "rotate", "--batch-size", "1")
    assert first.returncode == 1, first
    assert "endpoints.signing_secret: re-sealing with key 'new'" in first.stdout
    assert "re-sealed so far" in first.stdout
    assert "1 secret(s) left as they were" in first.stderr and "1 under 'gone'" in first.stderr
    for secret in (sealed_secret, legacy_secret, NEW.partition(":")[2]):
        assert secret not in first.stdout + first.stderr

    only_new = Keyring((SecretKey("new", NEW_KEY),))
    for endpoint_id, secret in ((sealed_id, sealed_secret), (legacy_id, legacy_secret)):
        row = await stored(pool, endpoint_id)
        assert row.startswith("v1:new:") and secret not in row
        assert only_new.open(row, ENDPOINT_SIGNING_SECRET.binding(endpoint_id)) == secret
    assert await stored(pool, str(lost_id)) == lost

    # After it, the sender signs with the re-sealed secrets.
    await delivered_signed(sender, sinks, client_id, rule_id, hooks)

    await pool.execute("DELETE FROM endpoints WHERE endpoint_id = $1", lost_id)
    again = await asyncio.to_thread(run_secrets, env, "rotate")
    assert again.returncode == 0, again
    assert "endpoints.signing_secret: done, 0 re-sealed" in again.stdout
    status = await asyncio.to_thread(run_secrets, env, "status")
    assert status.returncode == 0, status
    assert re.fullmatch(
        r"endpoints\.signing_secret: \d+ new \(current\)\n"
        r"endpoints\.previous_signing_secret: none stored",
        status.stdout.strip(),
    )


@pytest.mark.parametrize("service", ["rule-service", "sender"])
def test_services_that_store_or_read_secrets_refuse_to_start_without_keys(
    base_env: dict[str, str], service: str
) -> None:
    env = {k: v for k, v in {**os.environ, **base_env}.items() if k != "ALERTING_SECRET_KEYS"}
    done = subprocess.run(
        [sys.executable, "-m", "alerting", service],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done
    assert "ALERTING_SECRET_KEYS is required" in done.stderr


async def test_rotation_compares_key_ids_exactly_even_with_underscores(
    own_database: str,
) -> None:
    """'_' is allowed in a key id and is a LIKE wildcard: a value sealed under 'kx1' is
    not current when the current key is 'k_1', so rotate must re-seal it (status would
    otherwise exit 1 for ever)."""
    old, new = SecretKey("kx1", bytes(range(32))), SecretKey("k_1", NEW_KEY)
    ring = ",".join(f"{k.key_id}:{base64.b64encode(k.key).decode()}" for k in (new, old))
    env = {"ALERTING_POSTGRES_DSN": own_database, "ALERTING_SECRET_KEYS": ring}
    endpoint_id = uuid.uuid4()
    binding = ENDPOINT_SIGNING_SECRET.binding(endpoint_id)
    pool = await asyncpg.create_pool(own_database, min_size=1, max_size=1)
    assert pool is not None
    try:
        rule_id = await seed_rule(pool, f"us-{endpoint_id.hex[:8]}")
        await pool.execute(
            "INSERT INTO endpoints (endpoint_id, rule_id, type, value, signing_secret)"
            " VALUES ($1, $2, 'webhook', 'http://127.0.0.1:9/u', $3)",
            endpoint_id, uuid.UUID(rule_id), Keyring((old,)).seal("s3cret", binding),
        )  # fmt: skip

        before = await asyncio.to_thread(run_secrets, env, "status")
        assert before.returncode == 1, before
        rotated = await asyncio.to_thread(run_secrets, env, "rotate")
        assert rotated.returncode == 0, rotated
        assert "endpoints.signing_secret: done, 1 re-sealed" in rotated.stdout
        row = await stored(pool, str(endpoint_id))
        assert row.startswith("v1:k_1:")
        assert Keyring((new,)).open(row, binding) == "s3cret"
        after = await asyncio.to_thread(run_secrets, env, "status")
        assert after.returncode == 0, after
        assert after.stdout.strip() == (
            "endpoints.signing_secret: 1 k_1 (current)\n"
            "endpoints.previous_signing_secret: none stored"
        )
    finally:
        await pool.close()
