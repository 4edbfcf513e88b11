"""The sender's outbound limits, each with its own sender process: private URLs refused,
per-endpoint rate limiting that defers without spending the attempt budget."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from alerting.config import Settings
from tests.integration.sender_support import (
    announce,
    insert_notification,
    reaches,
    ready_message,
    running_sender,
    running_sinks,
    webhook_rule,
)
from tests.pipeline_support import produce

pytestmark = pytest.mark.integration


async def test_private_urls_are_refused_without_a_request(
    base_env: dict[str, str], settings: Settings, tmp_path: Path, unique: str
) -> None:
    client_id = f"c-{unique}"
    async with (
        running_sinks() as sinks,
        running_sender(
            base_env, settings, sinks, tmp_path, ALERTING_ALLOW_PRIVATE_URLS="false"
        ) as strict,
    ):
        hook = f"private-{client_id}"
        rule, _ = await webhook_rule(strict.pool, client_id, sinks.hook(hook))
        nid = await insert_notification(strict.pool, client_id, [rule])
        await announce(strict.settings, nid, client_id)

        row = await reaches(strict.pool, nid, "FAILED")
        assert "URL refused" in row["last_error"] and "127.0.0.1" in row["last_error"]
        assert row["attempts"] == 1
        assert sinks.requests(hook) == []
        assert await asyncio.to_thread(strict.process.terminate) == 0  # SIGTERM: clean exit


async def test_an_endpoint_without_tokens_is_deferred_not_failed(
    base_env: dict[str, str], settings: Settings, tmp_path: Path, unique: str
) -> None:
    """One request per second, burst 1: the first goes at once, the second waits its
    turn (under a second), the third is deferred to its refill time with its attempt
    given back. All arrive; none is counted as a failed attempt."""
    client_id = f"c-{unique}"
    hook = f"rate-{client_id}"
    async with (
        running_sinks() as sinks,
        running_sender(
            base_env,
            settings,
            sinks,
            tmp_path,
            ALERTING_SENDER_RATE_PER_S="1",
            ALERTING_SENDER_RATE_BURST="1",
        ) as limited,
    ):
        rule, _ = await webhook_rule(limited.pool, client_id, sinks.hook(hook))
        ids = [await insert_notification(limited.pool, client_id, [rule]) for _ in range(3)]
        await produce(
            limited.settings, [ready_message(limited.settings, n, client_id) for n in ids]
        )

        rows = [await reaches(limited.pool, n, "SENT") for n in ids]
        assert [r["attempts"] for r in rows] == [1, 1, 1]
        assert await limited.metric("alerting_sender_rate_limited_total") >= 1
        arrivals = sorted(r["received_at"] for r in sinks.requests(hook))
        assert len(arrivals) == 3
        # Spacing is the limiter's contract, not a timing guess: each request needs a token.
        assert arrivals[2] - arrivals[0] >= 1.5


async def test_an_endpoints_own_rate_spaces_its_deliveries(
    base_env: dict[str, str], settings: Settings, tmp_path: Path, unique: str
) -> None:
    """rate_per_s = 2 on the endpoint (the sender's setting stays far higher): a burst of
    one second's worth (2), then one every half second, so six take about 2 s. Deferred
    ones keep their attempt. The bound is loose: it proves the override was used (the
    setting alone would send all six at once), not the scheduler's precision."""
    client_id = f"c-{unique}"
    hook = f"own-rate-{client_id}"
    async with running_sinks() as sinks, running_sender(base_env, settings, sinks, tmp_path) as s:
        rule, _ = await webhook_rule(s.pool, client_id, sinks.hook(hook))
        await s.pool.execute(
            "UPDATE endpoints SET rate_per_s = 2 WHERE rule_id = $1", uuid.UUID(rule)
        )
        ids = [await insert_notification(s.pool, client_id, [rule]) for _ in range(6)]
        await produce(s.settings, [ready_message(s.settings, n, client_id) for n in ids])

        rows = [await reaches(s.pool, n, "SENT") for n in ids]
        assert [r["attempts"] for r in rows] == [1] * 6
        arrivals = sorted(r["received_at"] for r in sinks.requests(hook))
        assert len(arrivals) == 6
        assert arrivals[-1] - arrivals[0] >= 1.5
