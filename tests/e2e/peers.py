"""Helpers of the real-peer e2e tests: what a peer's /metrics counts, and waiting on the
webhook sink with the peer's and ingest's log tails in every failure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from alerting.peers import servers
from alerting.peers.servers import Peer
from tests.e2e.lifecycle import Arrival, wait_rows, webhook_arrivals
from tests.e2e.pipeline import Pipeline, Tenant, processed
from tests.pipeline_support import eventually
from tests.ports import free_port

ACCEPTED = "alerting_ingest_alerts_accepted_total"
DEBUG = servers.PeerOptions(log_level="debug")  # a failure shows each alert's path
WAIT_S = 45.0  # Prometheus sends nothing until its first discovery round (5 s)


class Peers:
    """The peers one test starts: on this worker's ports (tests/ports.py), each in a
    directory of the test's own; all stopped when the test ends, and their log tails
    printed then, which pytest shows for a failed test."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[Peer] = []

    def prometheus(self, config: Mapping[str, Any], rules: Mapping[str, Mapping[str, Any]]) -> Peer:
        directory = self.directory / f"prometheus-{len(self.started)}"
        started = servers.start_prometheus(directory, free_port(), config, rules, DEBUG)
        return self._keep(started)

    def alertmanager(self, config: Mapping[str, Any]) -> Peer:
        directory = self.directory / f"alertmanager-{len(self.started)}"
        return self._keep(servers.start_alertmanager(directory, free_port(), config, DEBUG))

    def _keep(self, peer: Peer) -> Peer:
        self.started.append(peer)
        return peer

    def close(self) -> None:
        """Each peer stopped even when stopping another failed (the first error is
        raised after all of them were tried)."""
        self._stop(list(self.started))

    def _stop(self, peers: list[Peer]) -> None:
        if not peers:
            return
        first, *rest = peers
        try:
            first.stop()
            print(first.log_tail(60))
        finally:
            self._stop(rest)


async def tenant_hook(
    pipeline: Pipeline, client_id: str, rule: tuple[str, str, str]
) -> tuple[Tenant, str, str]:
    """The whole platform running, a client with ``rule`` (severity, source, name) and a
    webhook endpoint at the sink, live in the evaluator; the client, the sink's hook
    name and an ingest key's token."""
    await pipeline.start()
    hook = f"hook-{client_id}"
    tenant = await pipeline.create_tenant(
        client_id, rules=[rule], endpoints=[("webhook", f"{pipeline.hook_base}/{hook}")]
    )
    await pipeline.wait_rules_live(1)
    created = await pipeline.api("POST", "/api/v1/api-keys", json={"scope": "ingest"})
    return tenant, hook, created["token"]


async def metric(pipeline: Pipeline, url: str, name: str) -> float:
    """The sum of every series of counter ``name`` in the /metrics text at ``url``."""
    text = (await pipeline.http.get(f"{url}/metrics")).text
    total = 0.0
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if series == name or series.startswith(name + "{"):
            total += float(value)
    return total


async def waited(
    pipeline: Pipeline, peer: Peer, check: Callable[[], Awaitable[Any]], what: str
) -> Any:
    """``eventually(check)``, failing with what the peer and ingest logged."""
    try:
        return await eventually(check, timeout=WAIT_S, what=what)
    except AssertionError as exc:
        ingest = pipeline.procs["ingest"].logs()[-3000:]
        raise AssertionError(f"{exc}\n{peer.log_tail()}\n--- ingest\n{ingest}") from None


async def kinds_reach(
    pipeline: Pipeline, peer: Peer, hook: str, expected: list[str]
) -> list[Arrival]:
    """Until the sink's ``hook`` got exactly these kinds, in this order (never more)."""

    async def reached() -> list[Arrival]:
        got = await webhook_arrivals(pipeline, hook)
        kinds = [a.kind for a in got]
        assert kinds == expected[: len(kinds)], (kinds, expected, peer.log_tail())
        return got if kinds == expected else []

    found: list[Arrival] = await waited(pipeline, peer, reached, f"{hook} receiving {expected}")
    return found


async def all_aggregated(pipeline: Pipeline, peer: Peer) -> None:
    """Until every alert ingest has accepted so far went through the evaluator and the
    aggregator: a duplicate notification would exist by then (each alert here matches
    one rule, and these topics are the test's own)."""
    accepted = await metric(
        pipeline, pipeline.url("ingest"), "alerting_ingest_alerts_accepted_total"
    )

    async def through() -> bool:
        ev = (await pipeline.http.get(f"{pipeline.url('evaluator')}/metrics")).text
        done = processed(ev, pipeline.settings.topics.alerts_new) >= accepted
        return done and await pipeline.matches_consumed() >= accepted

    await waited(pipeline, peer, through, f"{accepted:.0f} accepted alerts aggregated")


async def delivered_once(
    pipeline: Pipeline,
    peer: Peer,
    tenant: Tenant,
    hook: str,
    alert_id: str,
    expected: list[tuple[int, str]],
) -> list[Arrival]:
    """Once every accepted alert went through: the alert's notifications through the
    public API are exactly ``expected`` ((episode, kind), all SENT: a duplicate row,
    delivered or not, never matches), and the sink got exactly those kinds."""
    await all_aggregated(pipeline, peer)
    rows = [(episode, kind, "SENT") for episode, kind in expected]
    await wait_rows(pipeline, tenant.token, alert_id, rows, ("episode", "kind", "status"))
    return await kinds_reach(pipeline, peer, hook, [kind for _, kind in expected])


async def grown(pipeline: Pipeline, peer: Peer, counter: str, by: float, what: str) -> float:
    """Until the peer's ``counter`` grew by ``by`` from now: it has sent again."""
    start = await metric(pipeline, peer.url, counter)

    async def more() -> float:
        now = await metric(pipeline, peer.url, counter)
        return now if now >= start + by else 0.0

    value: float = await waited(pipeline, peer, more, f"{what} (+{by:g} after {start:g})")
    return value
