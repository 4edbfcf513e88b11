"""Delivery rates: each channel's default, an endpoint's override, and the sender's
buckets keyed by destination (docs/operations.md, "Delivery rates per channel")."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from alerting.channels import registry
from alerting.domain.delivery import NotificationEndpoint, targets
from alerting.domain.delivery_rate import Rate, effective, strictest
from alerting.services.sender import worker
from alerting.services.sender.store import Finish
from tests.unit.sender_support import MemoryStore
from tests.unit.test_sender_worker import (
    LEASE,
    ScriptedChannels,
    claim,
    endpoint,
    id_of,
    make_worker,
)

SLACK_URL = "https://hooks.slack.example/services/T/B/x"


class ChannelRates(ScriptedChannels):
    """Scripted answers, the real channels' default rates (the sender's dispatcher's)."""

    def default_rate(self, endpoint_type: str) -> Rate | None:
        return registry.default_rate(endpoint_type)


def test_each_builtin_channel_states_its_default() -> None:
    rates = {name: registry.default_rate(name) for name in registry.names()}
    assert rates == {
        "email": None,  # the sender's setting
        "pagerduty": Rate(2.0, 5),
        "slack": Rate(1.0, 3),
        "teams": Rate(1.0, 4),
        "webhook": None,  # the sender's setting
    }
    assert registry.default_rate("gone") is None


def test_an_override_replaces_either_part_of_the_default() -> None:
    default = Rate(50.0, 100)
    assert effective(default, None, None) is default
    assert effective(default, None, 7) == Rate(50.0, 7)
    assert effective(default, 0.5, 9) == Rate(0.5, 9)


def test_a_lowered_rate_without_a_burst_gets_one_seconds_worth() -> None:
    assert effective(Rate(50.0, 100), 2.0, None) == Rate(2.0, 2)
    assert effective(Rate(50.0, 100), 2.9, None) == Rate(2.9, 2)
    assert effective(Rate(1.0, 3), 0.2, None) == Rate(0.2, 1)


@pytest.mark.parametrize(("per_s", "burst"), [(0, 1), (-1, 1), (1, 0), (float("nan"), 1)])
def test_a_rate_that_admits_nothing_is_refused(per_s: float, burst: int) -> None:
    with pytest.raises(ValueError, match="not a delivery rate"):
        Rate(per_s, burst)
    assert Rate(1_000_000, 1_000_000).burst == 1_000_000  # the setting's own maximum


def test_the_endpoints_of_one_target_share_the_strictest_override() -> None:
    assert strictest([None, 5.0, 2.0]) == 2.0 and strictest([None, None]) is None
    members = [
        NotificationEndpoint("e-1", "webhook", "https://h/x", rate_per_s=10.0),
        NotificationEndpoint("e-2", "webhook", "https://h/x", rate_per_s=3.0, rate_burst=4),
        NotificationEndpoint("e-3", "webhook", "https://h/x"),
    ]
    (target,) = targets(members, lambda _type, value, _secret: value)
    assert target.endpoint_ids == ("e-1", "e-2", "e-3")
    assert (target.rate_per_s, target.rate_burst) == (3.0, 4)


async def _deliver_four(channels: ScriptedChannels, make: NotificationEndpoint) -> MemoryStore:
    """Four notifications to one destination, in one batch."""
    claims = [claim() for _ in range(4)]
    store = MemoryStore(endpoints={id_of(c): [make] for c in claims})
    await asyncio.wait_for(make_worker(store, channels).deliver(claims, "ready"), 2)
    return store


def _deferred(store: MemoryStore) -> list[Finish]:
    return [f for f in store.only.finishes if f.status == "RETRY"]


async def test_a_slack_destination_takes_its_channels_burst_then_waits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Slack: burst 3, then one a second: the fourth is deferred to its refill (beyond a
    half-second horizon), attempt given back. A webhook, on the setting (100/s), is not."""
    monkeypatch.setattr(worker, "MAX_RATE_WAIT_S", 0.5)
    channels = ChannelRates()
    store = await _deliver_four(channels, endpoint("e-1", SLACK_URL, "slack"))
    assert len(channels.calls) == 3
    (deferred,) = _deferred(store)
    assert (deferred.lease, deferred.delay_ms, deferred.refund) == (LEASE, 1000, True)

    webhooks = ChannelRates()
    store = await _deliver_four(webhooks, endpoint("e-2", "https://hook.example"))
    assert len(webhooks.calls) == 4 and _deferred(store) == []


async def test_an_endpoints_override_beats_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "MAX_RATE_WAIT_S", 0.5)
    channels = ChannelRates()
    limited = dataclasses.replace(
        endpoint("e-1", "https://hook.example"), rate_per_s=1.0, rate_burst=2
    )
    store = await _deliver_four(channels, limited)
    assert len(channels.calls) == 2
    assert [f.delay_ms for f in _deferred(store)] == [1000, 1000]
