"""The `stored` stage's pure parts: how the history is cut and sized, the empty and
stored figures side by side, the progress line, and when the stage runs."""

from __future__ import annotations

import pytest

from alerting.bench import history, over_history, results
from alerting.bench.main import FULL_STAGES, QUICK_STAGES, STAGES, stage_list
from alerting.bench.plan import FULL, QUICK


def _case(measure: str, phase: str, per_s: float) -> dict[str, object]:
    return {"case": f"{measure} {phase}", "measure": measure, "phase": phase, "per_s": per_s}


def test_the_history_is_cut_into_contiguous_chunks_covering_every_row() -> None:
    cut = history.chunks(250_001, 100_000)
    assert [(c.lo, c.hi) for c in cut] == [(0, 100_000), (100_000, 200_000), (200_000, 250_001)]
    assert {c.total for c in cut} == {250_001}
    assert history.chunks(5, 100) == [history.Chunk(0, 5, 5)]
    with pytest.raises(ValueError, match="at least one row"):
        history.chunks(0, 10)
    with pytest.raises(ValueError, match="positive chunk"):
        history.chunks(10, 0)


def test_the_history_is_mostly_sent_with_some_failed_and_suppressed_rows() -> None:
    per = history.rows_per_notification()
    # 1 in 50 rows is SUPPRESSED (no delivery, no attempt); each delivery has one attempt,
    # plus 3 more for the 1 in 20 FAILED and 1 more for the 1 in 40 SENT on its 2nd:
    # 0.98 + 0.05 * 3 + 0.025 attempts per notification
    assert per == {"notifications": 1.0, "deliveries": 0.98, "delivery_attempts": 1.155}


def test_each_measure_is_shown_empty_then_stored_then_their_ratio() -> None:
    empty = [_case("aggregator", "empty", 1000.0), _case("sender webhook", "empty", 500.0)]
    stored = [_case("sender webhook", "stored", 350.0), _case("aggregator", "stored", 900.0)]
    out = over_history.compared(empty, stored)
    assert [(c["measure"], c["phase"]) for c in out] == [
        ("aggregator", "empty"),
        ("aggregator", "stored"),
        ("aggregator", "ratio"),
        ("sender webhook", "empty"),
        ("sender webhook", "stored"),
        ("sender webhook", "ratio"),
    ]
    agg, snd = out[2], out[5]
    assert (agg["ratio"], agg["met"], snd["ratio"], snd["met"]) == (0.9, True, 0.7, False)
    assert agg["figure"] == "900 vs 1,000/s empty: 90% (goal 80%: met)"
    assert snd["figure"] == "350 vs 500/s empty: 70% (goal 80%: below)"
    with pytest.raises(ValueError, match="different cases"):
        over_history.compared(empty, stored[:1])


def test_cases_are_labelled_with_their_phase() -> None:
    [webhooks] = over_history.tagged(
        [{"case": "10,000 webhooks", "channel": "webhook", "per_s": 1.0}], "stored", "sender"
    )
    assert webhooks["case"] == "sender, 10,000 webhooks, stored"
    assert (webhooks["measure"], webhooks["phase"]) == ("sender webhook", "stored")


def test_the_document_carries_each_ratio_and_the_history_size_but_no_headline() -> None:
    cases = [
        *over_history.compared(
            [_case("aggregator", "empty", 100.0)], [_case("aggregator", "stored", 85.0)]
        ),
        {"case": "history", "measure": "load", "phase": "load", "items": 10_000_000},
    ]
    document = results.assemble({"stored": cases}, {})
    assert document["stored_aggregator_ratio"] == 0.85
    assert document["stored_notifications"] == 10_000_000
    assert not set(results.HEADLINE_KEYS) & document.keys()
    assert over_history.key_of("sender email") == "stored_sender_email_ratio"


def test_the_load_progress_line_gives_rate_and_time_left() -> None:
    line = over_history.eta_line(2_500_000, 10_000_000, 7_800_000, 100.0)
    assert line == (
        "history: 2,500,000 of 10,000,000 notifications (7,800,000 rows in 3 tables),"
        " 25,000 notifications/s, 78,000 rows/s, ETA 5m00s"
    )
    assert over_history.eta_line(0, 10, 0, 0.0).endswith("ETA unknown")


def test_the_stored_stage_runs_only_when_named() -> None:
    assert "stored" in STAGES
    assert "stored" not in FULL_STAGES and "stored" not in QUICK_STAGES
    assert set(STAGES) - set(FULL_STAGES) == {"stored"}
    assert stage_list("stored,sender") == ("sender", "stored")
    assert FULL.stored_notifications == QUICK.stored_notifications == 10_000_000
    assert FULL.stored_days == 30
    assert FULL.scaled(0.001).stored_notifications == 10_000
    assert FULL.scaled(1e-9).stored_notifications == 1000
