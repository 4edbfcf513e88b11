"""Property: whatever the interleaving of firing, resolved and redelivered events of a
client's alerts, and however they fall into batches (some replayed whole, as after a
crash before the offset commit), the rows the aggregator's statement stores are the
rows of the reference model, ``alerting.domain.episodes.AlertEpisodes``, fed the same
events in the same order."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import hypothesis
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from alerting.domain.episodes import AlertEpisodes, Kind
from alerting.domain.model import AlertStatus
from alerting.services.aggregator.store import upsert
from tests.integration.episode_support import F, Pool, R, event, new_client, stored
from tests.integration.rule_service_support import rs_settings, rule_pool
from tests.integration.sender_support import seed_rule

__all__ = ["rs_settings", "rule_pool"]
pytestmark = pytest.mark.integration
T = TypeVar("T")
EXAMPLES = 60
ALERTS = ("a0", "a1")


@dataclass(frozen=True)
class Sent:
    alert_id: str
    status: AlertStatus
    ts: int


new_event = st.builds(
    Sent, st.sampled_from(ALERTS), st.sampled_from([F, R]), st.integers(min_value=0, max_value=6)
)
# A step is a new event, or the redelivery of an earlier one (by index, modulo).
steps = st.lists(st.one_of(new_event, st.integers(0, 50)), min_size=1, max_size=20)
# A batch ends after an event one time in four: several events of an alert often share one.
cut = st.integers(0, 3).map(lambda k: k == 0)


def sequence(drawn: list[Sent | int]) -> list[Sent]:
    """The events in delivery order: a redelivery repeats an earlier event."""
    out: list[Sent] = []
    for step in drawn:
        if isinstance(step, Sent):
            out.append(step)
        elif out:
            out.append(out[step % len(out)])
    return out


@dataclass(frozen=True)
class Plan:
    """Events in delivery order, the batch each ends (a cut after event i ends one) and
    which batches are replayed whole right after themselves."""

    events: list[Sent]
    cuts: list[bool]
    replays: list[bool]

    def batches(self) -> list[list[Sent]]:
        if not self.events:
            return []
        out: list[list[Sent]] = [[]]
        for i, e in enumerate(self.events):
            out[-1].append(e)
            if self.cuts[i] and i < len(self.events) - 1:
                out.append([])
        return [b for i, b in enumerate(out) for _ in range(2 if self.replays[i] else 1)]


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    events = sequence(draw(steps))
    n = len(events)
    flags = st.lists(cut, min_size=n, max_size=n)
    return Plan(events, draw(flags, label="cuts"), draw(flags, label="replays"))


def explicit(*events: tuple[str, AlertStatus, int], cut_after: int) -> Plan:
    """Given events in two batches, the first ending with event ``cut_after``."""
    n = len(events)
    return Plan([Sent(*e) for e in events], [i == cut_after for i in range(n)], [False] * n)


def model(fed: list[list[Sent]]) -> dict[str, list[tuple[int, str, int]]]:
    """(episode, kind, event_ts) per alert, from the reference model."""
    per_alert = {a: AlertEpisodes() for a in ALERTS}
    for batch in fed:
        for e in batch:
            per_alert[e.alert_id].apply(e.status, e.ts)
    return {
        a: [(r.episode, r.kind.value, r.event_ts) for r in eps.rows]
        for a, eps in per_alert.items()
        if eps.rows
    }


async def store_all(pool: Pool, fed: list[list[Sent]]) -> list[Any]:
    client = new_client()
    rule = await seed_rule(pool, client)
    for batch in fed:
        await upsert(pool, [event(client, e.alert_id, e.status, e.ts, rule) for e in batch])
    return list(await stored(pool, client))


def check_rows(rows: list[Any], expected: dict[str, list[tuple[int, str, int]]]) -> None:
    got: dict[str, list[tuple[int, str, int]]] = {}
    firing_of: dict[tuple[str, int], Any] = {}
    for r in rows:
        got.setdefault(r["alert_id"], []).append((r["episode"], r["kind"], r["ts"]))
        if r["kind"] == Kind.FIRING:
            firing_of[(r["alert_id"], r["episode"])] = r
    # Episodes, kinds and times exactly (a run of one status in a batch keeps the events
    # that can act, rounds.py, so a row carries the event the model's carries).
    assert got == expected
    for r in rows:
        if r["kind"] == Kind.RESOLVED:
            firing = firing_of[(r["alert_id"], r["episode"])]
            assert (r["firing_id"], r["rule_ids"]) == (firing["id"], firing["rule_ids"])
        assert r["status"] == "PENDING"


async def test_stored_episodes_equal_the_reference_model(rule_pool: Pool) -> None:
    loop = asyncio.get_running_loop()

    def on_loop(coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=120)

    @given(plan=plans())
    # A closed episode, then one batch whose run of firings starts with a late re-send of
    # the closed episode's firing and goes on with a new one: the run must open episode 2.
    @hypothesis.example(
        plan=explicit(("a0", F, 1), ("a0", R, 4), ("a0", F, 2), ("a0", F, 5), cut_after=1)
    )
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    def check(plan: Plan) -> None:
        fed = plan.batches()
        check_rows(on_loop(store_all(rule_pool, fed)), model(fed))

    await asyncio.to_thread(check)
