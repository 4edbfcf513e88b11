"""Alerts per second per ingest key: the 429, who is limited, bounded memory, and the
refund of batches the broker did not accept."""

from __future__ import annotations

import json
import uuid
from typing import cast

import pytest
from starlette.requests import Request

from alerting.adapters.kafka import BatchProducer
from alerting.config import QuotaSettings
from alerting.services.ingest.app import Ingest
from alerting.services.ingest.jobs import JobManager
from alerting.services.ingest.publish import AlertPublisher
from alerting.services.ingest.rate import KeyRateLimit
from alerting.web.auth import ADMIN_PRINCIPAL, Principal
from alerting.web.problems import ApiError, render


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def ingest_key() -> Principal:
    return Principal("ingest", key_id=uuid.uuid4())


def test_a_key_over_its_rate_gets_a_429_with_retry_after_and_the_quota() -> None:
    clock = FakeClock()
    limit = KeyRateLimit(rate_per_s=100, burst=1000, clock=clock)
    key = ingest_key()
    limit.admit(key, 1000)
    with pytest.raises(ApiError) as refused:
        limit.admit(key, 250)
    error = refused.value
    # 250 alerts at 100/s: 2.5 s, rounded up so a retry at Retry-After fits.
    assert (error.status, error.headers["Retry-After"]) == (429, "3")
    response = render(error)
    assert response.media_type == "application/problem+json"
    body = json.loads(bytes(response.body))
    assert body["type"].endswith("/rate-limited")
    assert (body["quota"], body["limit"], body["burst"]) == ("ingest_alerts_per_s", 100, 1000)
    assert "250 alerts were NOT accepted" in body["detail"]
    clock.now += 3.0
    limit.admit(key, 250)  # fits now: the refused batch cost nothing


def test_a_short_wait_still_says_one_second() -> None:
    limit = KeyRateLimit(rate_per_s=1000, burst=1000, clock=FakeClock())
    key = ingest_key()
    limit.admit(key, 1000)
    with pytest.raises(ApiError) as refused:
        limit.admit(key, 1)
    assert refused.value.headers["Retry-After"] == "1"  # never 0: that invites a hot loop


def test_each_key_has_its_own_bucket_and_the_admin_token_none() -> None:
    limit = KeyRateLimit(rate_per_s=1, burst=1000, clock=FakeClock())
    first, second = ingest_key(), ingest_key()
    limit.admit(first, 1000)
    limit.admit(second, 1000)  # not slowed by the first key's use
    for _ in range(5):
        limit.admit(ADMIN_PRINCIPAL, 1000)  # the bench and loadgen use it
    with pytest.raises(ApiError):
        limit.admit(first, 1)


def test_memory_stays_bounded_by_the_keys_still_refilling() -> None:
    clock = FakeClock()
    limit = KeyRateLimit(rate_per_s=1000, burst=1000, clock=clock, max_keys=10)
    for _ in range(10):
        limit.admit(ingest_key(), 1)
    clock.now += 1.0  # every bucket has refilled: each is as good as a new one
    for _ in range(25):
        limit.admit(ingest_key(), 1)
        clock.now += 1.0
    assert len(limit) <= 10


def test_the_limit_comes_from_the_quota_settings() -> None:
    quotas = QuotaSettings(
        rules_per_client=1,
        endpoints_per_rule=1,
        api_keys_per_client=1,
        ingest_alerts_per_s=7,
        ingest_burst=1234,
    )
    limit = KeyRateLimit.for_settings(quotas)
    assert (limit.rate_per_s, limit.burst) == (7, 1234)


def test_a_refund_gives_an_unaccepted_batch_back_up_to_the_burst() -> None:
    limit = KeyRateLimit(rate_per_s=1, burst=1000, clock=FakeClock())
    key = ingest_key()
    limit.admit(key, 1000)
    limit.refund(key, 1000)
    limit.admit(key, 1000)  # the refunded batch fits again at once
    limit.refund(key, 1000)
    limit.refund(key, 1000)  # more than was taken: capped at the burst
    limit.admit(key, 1000)
    with pytest.raises(ApiError):
        limit.admit(key, 1)
    limit.refund(ADMIN_PRINCIPAL, 1000)  # the admin token has no bucket: nothing to give


async def test_batches_answered_503_do_not_drain_the_key_rate() -> None:
    """During a broker outage a client retries the same batch after Retry-After; the
    503s must not spend its rate, or after recovery it gets 429 for alerts never
    accepted."""
    limit = KeyRateLimit(rate_per_s=1, burst=1000, clock=FakeClock())
    down = AlertPublisher(cast(BatchProducer, None), "alerts.new")  # never connected
    ingest = Ingest(down, JobManager(down.publish), limit)
    key = ingest_key()
    body = json.dumps({"alerts": [{"severity": "LOW", "source": "s", "name": "n"}] * 1000}).encode()
    request = Request({"type": "http", "method": "POST", "path": "/", "headers": []})
    for _ in range(3):
        with pytest.raises(ApiError) as refused:
            await ingest.post_alerts(request, key, body)
        assert refused.value.status == 503
    limit.admit(key, 1000)  # still the whole burst
