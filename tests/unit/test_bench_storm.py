"""The storm case's plumbing (pure parts): its figures from what the sink received, its
size in each plan, its place among the stages and in the result document."""

from __future__ import annotations

import pytest

from alerting.bench import results
from alerting.bench.main import FULL_STAGES, QUICK_STAGES, stage_list
from alerting.bench.plan import FULL, QUICK
from alerting.bench.poster import Posted
from alerting.bench.processes import BenchError
from alerting.bench.storm import POLICY, figures


def digest(members: int, received_at: float) -> dict[str, object]:
    return {"members": members, "received_at": received_at}


def test_storm_figures_are_alerts_in_digests_out_and_members_per_digest() -> None:
    posted = Posted(accepted=1000, started_at=100.0, seconds=2.0)
    found = figures(posted, [digest(600, 101.5), digest(400, 104.0)])
    assert (found["alerts_per_s"], found["messages"], found["members_per_message"]) == (
        500.0,
        2,
        500.0,
    )
    assert found["messages_per_s"] == 0.5  # two digests over the 4 s from the first post
    assert found["figure"] == "500 alerts/s in, 0.50 digests/s out, 500 members per digest"
    assert found["case"] == "1,000 alerts, one grouped rule"
    assert found["policy"]["group_wait_s"] == 1 and found["policy"]["group_interval_s"] == 2
    assert POLICY.group_by == ()
    document = results.assemble({"storm": [found]}, {})
    assert document["storm_members_per_message"] == 500.0
    assert document["storm_messages_per_s"] == 0.5 and document["storm_alerts_per_s"] == 500.0


def test_storm_figures_refuse_a_sink_that_missed_members() -> None:
    posted = Posted(accepted=1000, started_at=100.0, seconds=2.0)
    with pytest.raises(BenchError, match="999 members in 2 digests, not 1,000"):
        figures(posted, [digest(599, 101.5), digest(400, 104.0)])
    with pytest.raises(BenchError, match="0 members in 0 digests"):
        figures(posted, [])


def test_storm_is_a_default_stage_of_every_plan() -> None:
    assert "storm" in FULL_STAGES and "storm" in QUICK_STAGES
    assert stage_list("storm") == ("storm",)
    assert stage_list("storm,e2e") == ("e2e", "storm")
    assert (FULL.storm_alerts, QUICK.storm_alerts) == (10_000, 2_000)
    assert FULL.scaled(0.05).storm_alerts == 500
    assert QUICK.scaled(0.001).storm_alerts == 100  # never fewer than a storm
