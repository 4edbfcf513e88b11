"""When a change is live, computed from the Redis records (``alerting.domain.liveness``)
and read in one round trip (``rule_service.liveness.Liveness``, over a fake Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from alerting.adapters.redis import Keys
from alerting.domain import liveness
from alerting.domain.liveness import HEARTBEAT_TTL_MS, REBUILD_MARGIN_MS, Versioned
from alerting.services.rule_service import liveness as rule_service_liveness
from alerting.services.rule_service.liveness import Liveness

NOW = 1_800_000_000_000
RULE = Versioned("r1", version=3, changed_at_ms=NOW - 60_000)


def beat(version: int, age_ms: int = 0) -> bytes:
    return liveness.pair(version, NOW - age_ms).encode()


def live(
    heartbeats: Mapping[Any, Any],
    applied: bytes | None = None,
    rebuilt: bytes | None = None,
    item: Versioned = RULE,
) -> bool:
    return liveness.is_live(item, applied, rebuilt, liveness.held(heartbeats, NOW).lowest)


def test_no_evaluator_running_means_not_live() -> None:
    assert not live({}, applied=b"3:10")
    assert not live({}, rebuilt=liveness.pair(NOW, 10).encode())


def test_a_stale_heartbeat_is_not_a_running_evaluator() -> None:
    stale = {b"old": beat(5, age_ms=HEARTBEAT_TTL_MS + 1)}
    assert not live(stale, applied=b"3:5")
    assert liveness.held(stale, NOW).stale == ("old",)
    # ... and a stale one holding an old version does not hold a fresh one back
    both = {**stale, b"new": beat(10, age_ms=HEARTBEAT_TTL_MS)}
    assert live(both, applied=b"3:10")
    assert liveness.held(both, NOW) == liveness.Held(10, ("old",))


@pytest.mark.parametrize(
    ("applied", "expected"),
    [
        (b"3:10", True),  # carried by the snapshot every evaluator holds
        (b"3:9", True),  # an older snapshot already carried it
        (b"3:11", False),  # the snapshot carrying it is newer than one evaluator holds
        (b"2:9", False),  # only an older version of the rule was applied
        (b"4:10", True),  # a newer version was applied (state-based: this one is in)
        (b"0:10", False),  # recorded as gone
        (b"garbage", False),
        (None, False),
    ],
)
def test_the_applied_record_against_the_lowest_held_version(
    applied: bytes | None, expected: bool
) -> None:
    heartbeats = {b"a": beat(12), b"b": beat(10, age_ms=900)}
    assert live(heartbeats, applied=applied) is expected


def test_a_full_read_covers_changes_older_than_it_by_the_margin() -> None:
    heartbeats = {b"a": beat(20)}
    read_after = RULE.changed_at_ms + REBUILD_MARGIN_MS
    assert live(heartbeats, rebuilt=liveness.pair(read_after, 20).encode())
    # too close to the change: its transaction may not have committed before the read
    assert not live(heartbeats, rebuilt=liveness.pair(read_after - 1, 20).encode())
    # the rebuilt snapshot is not yet held everywhere
    assert not live(heartbeats, rebuilt=liveness.pair(read_after, 21).encode())
    # an applied record of an older version does not hide the full read
    assert live(heartbeats, applied=b"1:2", rebuilt=liveness.pair(read_after, 20).encode())


class FakePipeline:
    def __init__(self, redis: FakeRedis) -> None:
        self._redis = redis
        self._queued: list[Any] = []

    async def __aenter__(self) -> FakePipeline:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    def hgetall(self, key: str) -> None:
        self._queued.append(dict(self._redis.hashes.get(key, {})))

    def get(self, key: str) -> None:
        self._queued.append(self._redis.strings.get(key))

    def hmget(self, key: str, fields: list[str]) -> None:
        values = self._redis.hashes.get(key, {})
        self._queued.append([values.get(f.encode()) for f in fields])

    def time(self) -> None:
        self._queued.append((self._redis.now_ms // 1000, self._redis.now_ms % 1000 * 1000))

    async def execute(self) -> list[Any]:
        self._redis.round_trips += 1
        return self._queued


class FakeRedis:
    def __init__(self) -> None:
        self.hashes: dict[str, dict[bytes, bytes]] = {}
        self.strings: dict[str, bytes] = {}
        self.round_trips = 0
        self.now_ms = NOW  # Redis' clock (TIME): the one heartbeats are judged by
        self.evals: list[tuple[Any, ...]] = []

    def pipeline(self, transaction: bool) -> FakePipeline:
        assert not transaction
        return FakePipeline(self)

    async def eval(self, script: str, numkeys: int, *args: Any) -> int:
        self.evals.append(args)
        return 0


async def test_a_page_is_one_round_trip_and_stale_heartbeats_are_pruned_by_value() -> None:
    keys = Keys("p:")
    redis = FakeRedis()
    redis.hashes[keys.evaluators] = {b"up": beat(7), b"gone": beat(6, HEARTBEAT_TTL_MS + 5)}
    redis.hashes[keys.applied] = {b"r1": b"3:7", b"r2": b"1:8"}
    checker = Liveness(redis, keys)  # type: ignore[arg-type]
    items = [RULE, Versioned("r2", 1, NOW), Versioned("r3", 1, NOW)]
    assert await checker.live(items) == [True, False, False]
    assert redis.round_trips == 1
    assert redis.evals == [(keys.evaluators, "gone", beat(6, HEARTBEAT_TTL_MS + 5))]


async def test_wait_gives_up_at_its_bound_and_says_not_live() -> None:
    redis = FakeRedis()
    checker = Liveness(redis, Keys())  # type: ignore[arg-type]
    assert await checker.wait(RULE, 0.12) is False
    assert redis.round_trips >= 2


async def test_redis_away_answers_not_live() -> None:
    class Down(FakeRedis):
        def pipeline(self, transaction: bool) -> FakePipeline:
            raise ConnectionError("Redis is away")

    checker = Liveness(Down(), Keys())  # type: ignore[arg-type]
    assert await checker.live([RULE]) == [False]


async def test_a_redis_that_stops_answering_does_not_hang_the_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Hung(FakePipeline):
        async def execute(self) -> list[Any]:
            await asyncio.sleep(3600)
            return []

    class Silent(FakeRedis):
        def pipeline(self, transaction: bool) -> FakePipeline:
            return Hung(self)

    monkeypatch.setattr(rule_service_liveness, "CHECK_TIMEOUT_S", 0.05)
    checker = Liveness(Silent(), Keys())  # type: ignore[arg-type]
    assert await asyncio.wait_for(checker.live([RULE]), 2) == [False]


def test_the_openapi_document_has_live_and_wait_on_rules_and_silences() -> None:
    from alerting.services.rule_service.app import openapi_document

    document: Any = openapi_document()
    paths, schemas = document["paths"], document["components"]["schemas"]
    for path, method in [
        ("/api/v1/rules", "post"),
        ("/api/v1/rules/{rule_id}", "patch"),
        ("/api/v1/silences", "post"),
        ("/api/v1/silences/{silence_id}", "patch"),
    ]:
        (wait,) = [p for p in paths[path][method]["parameters"] if p["name"] == "wait"]
        assert wait["schema"] == {"type": "number", "exclusiveMinimum": 0, "maximum": 30}
        assert "422" in paths[path][method]["responses"]
    for schema in ("Rule", "Silence"):
        assert schema in schemas and "live" in schemas[schema]["required"]
