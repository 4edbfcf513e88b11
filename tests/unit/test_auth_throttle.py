"""Failed-authentication throttling: the pure failure table over a fake clock, the
guard's source address and log budget, and the bearer backend answering 429 before it
verifies anything."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response

from alerting.config import AuthThrottleSettings
from alerting.domain import api_keys
from alerting.web.app import problem_app
from alerting.web.auth import Principal, Scope
from alerting.web.auth_guard import LOG_LINES_PER_WINDOW, FailedAuthGuard, source_address
from alerting.web.bearer import bearer_authenticator
from alerting.web.endpoint import Endpoints
from alerting.web.key_store import StoredKey
from alerting.web.problems import ApiError
from alerting.web.throttle import FailureLimit, FailureTable, Report

ADMIN_TOKEN = "admin-token-for-tests"


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def table(
    failures: int, window_s: float = 60.0, max_entries: int = 100
) -> tuple[FailureTable, FakeClock, list[Report]]:
    clock = FakeClock()
    reports: list[Report] = []
    t = FailureTable(
        FailureLimit(failures, window_s),
        clock,
        reports.append,
        report_every_s=window_s,
        max_entries=max_entries,
    )
    return t, clock, reports


def test_a_key_is_blocked_after_its_failures_and_freed_one_attempt_at_a_time() -> None:
    t, clock, _ = table(failures=3, window_s=60)
    for _ in range(3):
        assert t.blocked_for("1.2.3.4") == 0.0
        t.failed("1.2.3.4")
    assert t.blocked_for("1.2.3.4") == pytest.approx(20.0)  # 3 per 60 s: one per 20 s
    assert t.blocked_for("5.6.7.8") == 0.0  # other keys are not affected
    clock.now += 10
    assert t.blocked_for("1.2.3.4") == pytest.approx(10.0)  # a blocked attempt takes nothing
    clock.now += 10
    assert t.blocked_for("1.2.3.4") == 0.0
    t.failed("1.2.3.4")
    assert t.blocked_for("1.2.3.4") == pytest.approx(20.0)


def test_a_zero_limit_never_blocks_but_still_reports() -> None:
    t, _, reports = table(failures=0)
    for _ in range(1000):
        t.failed("k")
        assert t.blocked_for("k") == 0.0
    assert reports == []  # the first failure is the caller's to log (``failed`` says so)


def test_the_first_failure_is_flagged_then_one_report_per_interval() -> None:
    t, clock, reports = table(failures=2, window_s=60)
    assert t.failed("k") is True
    assert t.failed("k") is False
    for _ in range(50):
        t.blocked_for("k")
    assert reports == []
    clock.now += 61
    t.blocked_for("k")  # not blocked any more; touching does not summarise by itself
    t.failed("k")
    assert reports == [Report("k", 2, 50, 61.0)]
    t.failed("k")
    assert len(reports) == 1  # the next summary waits for the next interval


def test_memory_is_bounded_and_evicted_counts_are_reported() -> None:
    t, _, reports = table(failures=5, max_entries=100)
    t.failed("attacker")
    t.failed("attacker")
    for i in range(10_000):  # an attacker rotating addresses
        t.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(t) == 100
    assert Report("attacker", 1, 0, 0.0) in reports  # its count went out with it


def test_recently_blocked_keys_are_kept_over_idle_ones() -> None:
    t, _, _ = table(failures=1, max_entries=3)
    t.failed("blocked")
    t.failed("idle")
    t.failed("other")
    assert t.blocked_for("blocked") > 0  # touched: now the most recent
    t.failed("new")  # evicts "idle", the least recently touched
    assert t.blocked_for("blocked") > 0
    assert t.blocked_for("idle") == 0.0


def connection(peer: str, forwarded: list[str] | None = None) -> HTTPConnection:
    headers = [(b"x-forwarded-for", v.encode()) for v in forwarded or []]
    return HTTPConnection({"type": "http", "headers": headers, "client": (peer, 1234)})


@pytest.mark.parametrize(
    ("hops", "peer", "forwarded", "source"),
    [
        (0, "10.0.0.9", ["6.6.6.6"], "10.0.0.9"),  # nothing trusted: the peer
        (1, "10.0.0.9", ["6.6.6.6, 1.2.3.4"], "1.2.3.4"),  # the proxy's entry, not the caller's
        (1, "10.0.0.9", ["6.6.6.6", "1.2.3.4"], "1.2.3.4"),  # several header lines
        (2, "10.0.0.9", ["6.6.6.6, 1.2.3.4, 10.0.0.5"], "1.2.3.4"),
        (2, "10.0.0.9", ["1.2.3.4"], "10.0.0.9"),  # did not come through both proxies
        (1, "10.0.0.9", ["not-an-address"], "10.0.0.9"),
        (1, "10.0.0.9", [], "10.0.0.9"),
        (0, "2001:db8::1", [], "2001:db8::/64"),  # one IPv6 subscriber is one source
        (1, "10.0.0.9", ["2001:db8:0:0:ffff::2"], "2001:db8::/64"),
        # A dual-stack listener (host ::) sees IPv4 callers as IPv4-mapped addresses:
        # each is its own IPv4 source, not one shared ::/64 with localhost.
        (0, "::ffff:1.2.3.4", [], "1.2.3.4"),
        (0, "::ffff:9.9.9.9", [], "9.9.9.9"),
        (1, "10.0.0.9", ["::ffff:5.6.7.8"], "5.6.7.8"),
        (0, "::1", [], "::1"),  # loopback is itself, not the /64 of ::
    ],
)  # fmt: skip
def test_source_address(hops: int, peer: str, forwarded: list[str], source: str) -> None:
    assert source_address(connection(peer, forwarded), hops) == source


def guard(per_source: int = 3, per_prefix: int = 5) -> tuple[FailedAuthGuard, FakeClock]:
    clock = FakeClock()
    policy = AuthThrottleSettings(per_source, per_prefix, window_s=60)
    return FailedAuthGuard(policy, clock), clock


def test_the_guard_blocks_a_source_and_marks_a_prefix_failure_over_its_limit() -> None:
    g, _ = guard(per_source=3, per_prefix=5)
    for _ in range(3):
        g.check("1.1.1.1")
        assert g.failed("1.1.1.1", "aaaaaaaaaaaa", "wrong secret") == 0.0
    with pytest.raises(ApiError) as blocked:
        g.check("1.1.1.1")
    assert blocked.value.status == 429 and blocked.value.headers == {"Retry-After": "20"}
    g.check("2.2.2.2")  # another address: free
    for source in ("2.2.2.2", "3.3.3.3"):  # the prefix's limit needs more than one address
        assert g.failed(source, "aaaaaaaaaaaa", "wrong secret") == 0.0
    # The prefix is over its limit: a source is not refused for carrying it (check takes
    # no prefix), but its next failure with it is reported blocked: 429, not 401.
    g.check("4.4.4.4")
    assert g.failed("4.4.4.4", "aaaaaaaaaaaa", "wrong secret") == pytest.approx(12.0)  # 5/60 s
    assert g.failed("4.4.4.4", "bbbbbbbbbbbb", "wrong secret") == 0.0  # another key: free


def test_the_log_has_a_budget_and_summarises_what_it_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    g, clock = guard(per_source=0, per_prefix=0)
    caplog.set_level(logging.WARNING, logger="alerting.web.auth_guard")
    for i in range(500):  # a flood from rotating addresses: every one a first failure
        g.failed(f"10.1.{i // 256}.{i % 256}", None, "wrong secret")
    assert len(caplog.records) == LOG_LINES_PER_WINDOW
    clock.now += 61
    g.failed("10.9.9.9", None, "wrong secret")
    last = caplog.records[-1].getMessage()
    assert last.startswith("480 more failed (or refused) authentications in the last 61 s")
    assert len(caplog.records) <= LOG_LINES_PER_WINDOW + 2


@dataclass
class OneKeyStore:
    token: str = field(default_factory=lambda: api_keys.generate().token)
    revoked: bool = False
    finds: int = 0

    async def find(self, prefix: str) -> StoredKey | None:
        self.finds += 1
        if prefix != api_keys.prefix_of(self.token):
            return None
        digest = api_keys.digest(self.token)
        return StoredKey(uuid.uuid4(), digest, "client", "acme", self.revoked)

    async def touch(self, key_id: uuid.UUID) -> None:
        return None


async def whoami(request: Request, caller: Principal, body: bytes) -> Response:
    return JSONResponse({"kind": caller.kind})


def app(store: OneKeyStore, g: FailedAuthGuard) -> httpx.AsyncClient:
    endpoints = Endpoints(bearer_authenticator(ADMIN_TOKEN, store, g), (Scope.TENANT,))
    transport = httpx.ASGITransport(app=problem_app([endpoints.route("GET", "/x", whoami)]))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_a_blocked_source_is_refused_before_any_verification() -> None:
    store = OneKeyStore()
    g, clock = guard(per_source=3, per_prefix=100)
    prefix = api_keys.prefix_of(store.token)
    wrong = f"alk_{prefix}_wrong-secret"
    async with app(store, g) as http:
        for _ in range(3):
            assert (
                await http.get("/x", headers={"Authorization": f"Bearer {wrong}"})
            ).status_code == 401
        finds = store.finds
        for token in (wrong, store.token, ADMIN_TOKEN):  # even the right ones: not looked at
            refused = await http.get("/x", headers={"Authorization": f"Bearer {token}"})
            assert refused.status_code == 429
            assert refused.headers["retry-after"] == "20"
            assert refused.headers["content-type"] == "application/problem+json"
        assert store.finds == finds
        assert (await http.get("/x")).status_code == 401  # no credentials: not a guess, not blocked
        clock.now += 20
        ok = await http.get("/x", headers={"Authorization": f"Bearer {store.token}"})
        assert ok.status_code == 200


async def test_a_blocked_prefix_still_admits_its_right_secret() -> None:
    """Prefixes are public, so a prefix over its limit must not lock its holder out:
    the token is still verified (the source limit bounds that work); the right secret
    passes, a wrong one answers 429 with Retry-After instead of 401."""
    store = OneKeyStore()
    g, clock = guard(per_source=100, per_prefix=3)
    prefix = api_keys.prefix_of(store.token)
    wrong = {"Authorization": f"Bearer alk_{prefix}_wrong-secret"}
    right = {"Authorization": f"Bearer {store.token}"}
    async with app(store, g) as http:
        assert [(await http.get("/x", headers=wrong)).status_code for _ in range(3)] == [401] * 3
        finds = store.finds
        refused = await http.get("/x", headers=wrong)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "20"
        assert refused.headers["content-type"] == "application/problem+json"
        assert store.finds == finds + 1  # verified, not refused unseen
        assert (await http.get("/x", headers=right)).status_code == 200
        assert (await http.get("/x", headers=wrong)).status_code == 429
        clock.now += 20
        assert (await http.get("/x", headers=wrong)).status_code == 401  # a token is due


async def test_every_wrong_api_key_takes_the_same_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown prefix is verified against a dummy digest and a revoked key's secret
    is verified too, so none answers sooner than a wrong secret, nor differently."""
    compared: list[str] = []
    real = api_keys.matches

    def spy(token: str, secret_hash: str) -> bool:
        compared.append(secret_hash)
        return real(token, secret_hash)

    monkeypatch.setattr(api_keys, "matches", spy)
    live, revoked = OneKeyStore(), OneKeyStore(revoked=True)
    g, _ = guard(per_source=100)
    answers = []
    for store, token in [
        (live, f"alk_{'0' * 12}_secret"),  # unknown prefix
        (live, f"alk_{api_keys.prefix_of(live.token)}_secret"),  # wrong secret
        (revoked, revoked.token),  # the right secret of a revoked key
    ]:
        async with app(store, g) as http:
            answers.append(await http.get("/x", headers={"Authorization": f"Bearer {token}"}))
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    stored = [api_keys.DUMMY_HASH, api_keys.digest(live.token), api_keys.digest(revoked.token)]
    assert compared == stored
