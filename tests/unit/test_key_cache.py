"""The caching key store over a fake store and a hand-driven clock: cached keys keep
working while the store is down, a revocation is seen after the refresh interval, the
maximum staleness is enforced, memory is bounded whatever the prefixes, and concurrent
lookups of one prefix make one store call."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field, replace

import pytest
from starlette.requests import HTTPConnection

from alerting.domain import api_keys
from alerting.web.auth import Principal
from alerting.web.bearer import BearerTokenBackend
from alerting.web.key_cache import RETRY_S, CachedKeyStore
from alerting.web.key_store import StoredKey
from alerting.web.problems import ApiError

REFRESH_S = 30.0
MAX_STALE_S = 900.0
OUTAGE = ConnectionRefusedError("connection refused")


@dataclass
class Clock:
    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeStore:
    """A key store that can be taken down, or made to wait, by the test."""

    keys: dict[str, StoredKey] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    touched: list[uuid.UUID] = field(default_factory=list)
    down: Exception | None = None
    gate: asyncio.Event | None = None  # set: lookups wait for it

    def issue(self) -> tuple[str, StoredKey]:
        new = api_keys.generate()
        key = StoredKey(uuid.uuid4(), new.secret_hash, "ingest", None, revoked=False)
        self.keys[new.prefix] = key
        return new.prefix, key

    async def find(self, prefix: str) -> StoredKey | None:
        self.asked.append(prefix)
        if self.gate is not None:
            await self.gate.wait()
        if self.down is not None:
            raise self.down
        return self.keys.get(prefix)

    async def touch(self, key_id: uuid.UUID) -> None:
        if self.down is not None:
            raise self.down
        self.touched.append(key_id)


def cache_over(
    store: FakeStore, clock: Clock, max_keys: int = 100, patience_s: float = 5.0
) -> CachedKeyStore:
    return CachedKeyStore(
        store,
        refresh_s=REFRESH_S,
        max_stale_s=MAX_STALE_S,
        unavailable=(OSError,),
        max_keys=max_keys,
        patience_s=patience_s,
        clock=clock,
    )


async def looked_up(cache: CachedKeyStore, store: FakeStore) -> tuple[str, StoredKey]:
    """A new key of ``store`` that ``cache`` has just looked up: (prefix, key)."""
    prefix, key = store.issue()
    assert await cache.find(prefix) == key
    return prefix, key


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_a_fresh_entry_is_used_without_asking_the_store(
    store: FakeStore, clock: Clock
) -> None:
    cache = cache_over(store, clock)
    prefix, key = await looked_up(cache, store)
    clock.advance(REFRESH_S - 0.1)
    assert await cache.find(prefix) == key
    assert store.asked == [prefix]


async def test_a_cached_key_keeps_working_while_the_store_is_down(
    store: FakeStore, clock: Clock
) -> None:
    cache = cache_over(store, clock)
    prefix, key = await looked_up(cache, store)
    store.down = OUTAGE
    for _ in range(5):  # past the refresh interval: the store is asked, and fails
        clock.advance(REFRESH_S)
        assert await cache.find(prefix) == key
    assert len(store.asked) == 6


async def test_a_revocation_is_seen_once_the_entry_is_older_than_the_refresh_interval(
    store: FakeStore, clock: Clock
) -> None:
    cache = cache_over(store, clock)
    prefix, key = await looked_up(cache, store)
    store.keys[prefix] = replace(key, revoked=True)
    clock.advance(REFRESH_S - 0.1)
    assert await cache.find(prefix) == key  # the documented delay
    clock.advance(0.1)
    found = await cache.find(prefix)
    assert found is not None and found.revoked
    store.down = OUTAGE  # what the store said last is what an outage keeps
    clock.advance(REFRESH_S)
    found = await cache.find(prefix)
    assert found is not None and found.revoked


async def test_a_deleted_key_is_forgotten_at_the_refresh(store: FakeStore, clock: Clock) -> None:
    cache = cache_over(store, clock)
    prefix, _ = await looked_up(cache, store)
    del store.keys[prefix]
    clock.advance(REFRESH_S)
    assert await cache.find(prefix) is None
    store.down = OUTAGE
    with pytest.raises(ConnectionRefusedError):
        await cache.find(prefix)


async def test_the_maximum_staleness_is_enforced_from_the_last_answer(
    store: FakeStore, clock: Clock
) -> None:
    cache = cache_over(store, clock)
    prefix, key = await looked_up(cache, store)
    clock.advance(REFRESH_S)
    await cache.find(prefix)  # answered: the entry's age starts again here
    store.down = OUTAGE
    clock.advance(MAX_STALE_S)
    assert await cache.find(prefix) == key
    clock.advance(RETRY_S + 0.001)
    with pytest.raises(ConnectionRefusedError):
        await cache.find(prefix)
    store.down = None
    clock.advance(RETRY_S)
    assert await cache.find(prefix) == key


async def test_after_a_failure_the_store_is_left_alone_for_a_while(
    store: FakeStore, clock: Clock
) -> None:
    """An outage costs one failed lookup a second, not one per request."""
    cache = cache_over(store, clock)
    prefix, key = await looked_up(cache, store)
    store.down = OUTAGE
    clock.advance(REFRESH_S)
    for _ in range(10):
        assert await cache.find(prefix) == key
    assert len(store.asked) == 2
    await cache.touch(key.key_id)  # last_used_at is not worth a request's time either
    clock.advance(RETRY_S)
    store.down = None
    store.keys[prefix] = replace(key, revoked=True)
    found = await cache.find(prefix)
    assert found is not None and found.revoked
    assert len(store.asked) == 3
    assert store.touched == []


async def test_a_store_that_does_not_answer_in_time_counts_as_down(
    store: FakeStore, clock: Clock
) -> None:
    cache = cache_over(store, clock, patience_s=0.05)
    prefix, key = await looked_up(cache, store)
    store.gate = asyncio.Event()  # an unreachable server: connections hang
    clock.advance(REFRESH_S)
    assert await asyncio.wait_for(cache.find(prefix), 2) == key
    assert await cache.find(prefix) == key  # within RETRY_S: not asked again
    assert len(store.asked) == 2
    store.gate.set()


async def test_an_error_that_is_not_an_outage_is_raised_even_with_an_entry(
    store: FakeStore, clock: Clock
) -> None:
    """A bug in the store must not be papered over by old answers."""
    cache = cache_over(store, clock)
    prefix, _ = await looked_up(cache, store)
    store.down = KeyError("a bug, not an outage")
    clock.advance(REFRESH_S)
    with pytest.raises(KeyError):
        await cache.find(prefix)


async def test_the_least_recently_used_entry_is_evicted_beyond_the_bound(
    store: FakeStore, clock: Clock
) -> None:
    cache = cache_over(store, clock, max_keys=3)
    prefixes = [store.issue()[0] for _ in range(4)]
    for prefix in prefixes[:3]:
        await cache.find(prefix)
    await cache.find(prefixes[0])  # used again: now the most recent
    await cache.find(prefixes[3])  # evicts prefixes[1]
    store.asked.clear()
    for prefix in (prefixes[0], prefixes[2], prefixes[3]):
        await cache.find(prefix)
    assert store.asked == []
    await cache.find(prefixes[1])
    assert store.asked == [prefixes[1]]


async def test_unknown_prefixes_are_not_cached_and_take_no_room(
    store: FakeStore, clock: Clock
) -> None:
    cache = cache_over(store, clock, max_keys=1)
    prefix, key = await looked_up(cache, store)
    unknown = [api_keys.generate().prefix for _ in range(50)]
    for other in unknown:
        assert await cache.find(other) is None
    assert await cache.find(unknown[0]) is None  # asked again: a key may be issued
    assert await cache.find(prefix) == key  # not pushed out by the unknown ones
    assert store.asked == [prefix, *unknown, unknown[0]]
    store.down = OUTAGE  # nothing to fall back on: the caller says it cannot check
    with pytest.raises(ConnectionRefusedError):
        await cache.find(unknown[1])


async def test_concurrent_lookups_of_one_prefix_make_one_store_call(
    store: FakeStore, clock: Clock
) -> None:
    cache = cache_over(store, clock)
    prefix, key = store.issue()
    unknown = api_keys.generate().prefix
    store.gate = asyncio.Event()
    waiting = [asyncio.ensure_future(cache.find(p)) for p in [prefix] * 10 + [unknown] * 10]
    await asyncio.sleep(0.01)
    waiting[0].cancel()  # a caller that gives up does not cancel the others' lookup
    store.gate.set()
    results = await asyncio.gather(*waiting[1:])
    assert results == [key] * 9 + [None] * 10
    assert sorted(store.asked) == sorted([prefix, unknown])


async def test_concurrent_lookups_share_a_failure(store: FakeStore, clock: Clock) -> None:
    cache = cache_over(store, clock)
    prefix = api_keys.generate().prefix
    store.gate, store.down = asyncio.Event(), OUTAGE
    waiting = [asyncio.ensure_future(cache.find(prefix)) for _ in range(5)]
    await asyncio.sleep(0.01)
    store.gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, ConnectionRefusedError) for r in results)
    assert store.asked == [prefix]


async def test_touch_reaches_the_store_and_an_outage_does_not_fail_it(
    store: FakeStore, clock: Clock
) -> None:
    cache = cache_over(store, clock)
    key_id = uuid.uuid4()
    await cache.touch(key_id)
    assert store.touched == [key_id]
    store.down = OUTAGE
    await cache.touch(key_id)
    clock.advance(RETRY_S)
    store.down = KeyError("a bug, not an outage")
    with pytest.raises(KeyError):
        await cache.touch(key_id)


def test_the_refresh_interval_may_not_exceed_the_maximum_staleness(store: FakeStore) -> None:
    with pytest.raises(ValueError, match="refresh"):
        CachedKeyStore(store, refresh_s=60, max_stale_s=30, unavailable=(OSError,))


def connection(token: str) -> HTTPConnection:
    headers = [(b"authorization", f"Bearer {token}".encode())]
    return HTTPConnection({"type": "http", "headers": headers})


async def test_the_secret_is_checked_on_every_request_while_the_store_is_down(
    store: FakeStore, clock: Clock
) -> None:
    """The cache holds what the store returned (the digest), never a token: a wrong
    secret for a cached prefix is refused during an outage as at any other time."""
    new = api_keys.generate()
    store.keys[new.prefix] = StoredKey(uuid.uuid4(), new.secret_hash, "ingest", None, False)
    backend = BearerTokenBackend("admin-token-for-tests", cache_over(store, clock))
    assert await backend.authenticate(connection(new.token)) == Principal(
        "ingest", None, store.keys[new.prefix].key_id, new.prefix
    )
    store.down = OUTAGE
    clock.advance(REFRESH_S)
    assert await backend.authenticate(connection(new.token)) is not None
    forged = f"{api_keys.TOKEN_PREFIX}_{new.prefix}_not-the-secret"
    with pytest.raises(ApiError) as refused:
        await backend.authenticate(connection(forged))
    assert refused.value.status == 401
