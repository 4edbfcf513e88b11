"""Per-endpoint token buckets, driven by a fake clock."""

from __future__ import annotations

import pytest

from alerting.domain.token_bucket import RateLimiter, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=2, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() is None  # empty, and not willing to wait
    assert bucket.wait_s() == pytest.approx(0.5)
    clock.now += 0.5
    assert bucket.reserve() == 0.0
    assert bucket.reserve() is None
    clock.now += 100
    assert bucket.full
    assert [bucket.reserve() for _ in range(4)] == [0.0, 0.0, 0.0, None]  # capped at burst


def test_reservations_queue_up_behind_each_other() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=10, burst=1, clock=clock)
    assert bucket.reserve(1.0) == 0.0
    waits = [bucket.reserve(1.0) for _ in range(12)]
    # each waiter gets its own later slot; beyond the 1 s horizon, nothing is reserved
    assert waits[:10] == pytest.approx([0.1 * i for i in range(1, 11)])
    assert waits[10:] == [None, None]
    assert bucket.wait_s() == pytest.approx(1.1)


def test_limiter_keeps_one_bucket_per_key_and_drops_idle_ones() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_s=1, burst=1, clock=clock, max_keys=2)
    assert limiter.bucket("a").reserve() == 0.0
    assert limiter.bucket("a").reserve() is None  # the same bucket
    assert limiter.bucket("b").reserve() == 0.0
    clock.now += 10  # a and b refill: idle
    limiter.bucket("c")
    assert len(limiter) == 1


def test_invalid_bucket() -> None:
    with pytest.raises(ValueError, match="rate_per_s"):
        TokenBucket(0, 1, FakeClock())


def test_take_admits_a_batch_whole_or_not_at_all_and_says_when_it_fits() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=100, burst=1000, clock=clock)
    assert bucket.take(1000) == 0.0  # the whole burst at once
    assert bucket.take(300) == pytest.approx(3.0)  # 300 tokens at 100/s
    assert bucket.take(1) == pytest.approx(0.01)  # the refused batch took nothing
    clock.now += 2.0
    assert bucket.take(300) == pytest.approx(1.0)  # 200 here, 100 more to come
    clock.now += 1.0
    assert bucket.take(300) == 0.0
    with pytest.raises(ValueError, match="burst"):
        bucket.take(1001)  # could never fit


def test_refund_gives_tokens_back_but_never_beyond_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=100, burst=1000, clock=clock)
    assert bucket.take(1000) == 0.0
    bucket.refund(1000)  # the batch was not accepted after all
    assert bucket.take(1000) == 0.0
    clock.now += 5.0  # 500 refilled
    bucket.refund(800)
    assert bucket.full
    assert bucket.take(1000) == 0.0 and bucket.take(1) > 0  # capped at the burst: not 1300


def test_a_key_with_its_own_rate_gets_a_bucket_of_that_shape() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_s=50, burst=100, clock=clock)
    slack = limiter.bucket(("slack", "u"), rate_per_s=1, burst=3)
    assert (slack.rate_per_s, slack.burst) == (1, 3)
    assert [slack.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert slack.reserve() is None  # the fourth is a second away
    plain = limiter.bucket("webhook")
    assert (plain.rate_per_s, plain.burst) == (50, 100)  # the limiter's own


def test_an_edited_rate_retunes_the_bucket_and_grants_no_fresh_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_s=50, burst=100, clock=clock)
    bucket = limiter.bucket("e", rate_per_s=10, burst=10)
    assert bucket.take(8) == 0.0  # 2 tokens left
    again = limiter.bucket("e", rate_per_s=2, burst=5)
    assert again is bucket and (again.rate_per_s, again.burst) == (2, 5)
    assert bucket.take(3) == pytest.approx(0.5)  # 2 kept, the third at the new 2/s
    clock.now += 100
    assert bucket.take(5) == 0.0 and bucket.wait_s() == pytest.approx(0.5)  # burst now 5
    with pytest.raises(ValueError, match="rate_per_s"):
        bucket.retune(2, 0)
