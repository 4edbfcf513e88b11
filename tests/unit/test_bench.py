"""The bench's pure parts: percentiles, timing from samples, the rule-set generator,
the plan sizes and the result document's shape."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt

import pytest

from alerting.bench import hot_path, results
from alerting.bench.cases import silences_label
from alerting.bench.e2e import latencies_ms
from alerting.bench.main import stage_list
from alerting.bench.plan import FULL, QUICK
from alerting.bench.probes import throughput
from alerting.bench.processes import BenchError
from alerting.bench.ruleset import RuleSetSpec, alerts, rules
from alerting.bench.silenceset import muted_share, silences
from alerting.bench.stats import Throughput, percentile, summarize
from alerting.domain.matching import RuleIndex
from alerting.domain.model import WILDCARD
from alerting.domain.silences import SilenceIndex


def test_percentile_interpolates_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 0) == 1
    assert percentile(values, 100) == 100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([7.0], 99) == 7
    assert percentile([3.0, 1.0, 2.0], 50) == 2  # order of input does not matter


def test_percentile_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 101)


def test_summarize_latency() -> None:
    summary = summarize([10.0] * 98 + [500.0, 1000.0])
    assert summary.count == 100
    assert summary.p50_ms == 10
    assert 10 < summary.p99_ms < 1000
    assert summary.max_ms == 1000


def test_throughput_needs_work_and_time() -> None:
    assert Throughput(500, 0.25).per_s == 2000
    with pytest.raises(ValueError):
        Throughput(0, 1.0)
    with pytest.raises(ValueError):
        Throughput(10, 0.0)


def test_timing_counts_only_what_was_done_between_first_progress_and_the_end() -> None:
    samples = [(0.0, 0), (5.0, 0), (5.5, 100), (6.0, 600), (6.5, 1100)]
    took = throughput(samples, 1100)
    assert took.items == 1000
    assert took.seconds == pytest.approx(1.0)


def test_timing_falls_back_to_the_last_idle_sample_for_tiny_work() -> None:
    took = throughput([(0.0, 0), (1.0, 0), (1.2, 50)], 50)
    assert (took.items, took.seconds) == (50, pytest.approx(0.2))
    with pytest.raises(BenchError, match="finished before"):
        throughput([(1.0, 50)], 50)


@pytest.mark.parametrize("fanout", [1, 3, 10])
def test_every_generated_alert_matches_exactly_fanout_clients(fanout: int) -> None:
    spec = RuleSetSpec(clients=50, rules_per_client=20, fanout=fanout, wildcard_share=0.3)
    rule_set = rules(spec, seed=4)
    index = RuleIndex(rule_set)
    assert len(rule_set) == spec.total == 1000
    for alert in alerts(spec, 300, "t-", 1_700_000_000):
        assert len(index.matches_for(alert)) == fanout


def test_rule_set_shape() -> None:
    spec = RuleSetSpec(clients=10, rules_per_client=100, fanout=2, wildcard_share=0.25)
    rule_set = rules(spec, seed=1)
    per_client: dict[str, int] = {}
    for r in rule_set:
        per_client[r.client_id] = per_client.get(r.client_id, 0) + 1
    assert set(per_client.values()) == {100}
    assert len({r.rule_id for r in rule_set}) == 1000
    wildcards = sum(WILDCARD in (r.severity, r.name) for r in rule_set)
    assert 150 < wildcards < 350  # about a quarter
    assert all(r.source != WILDCARD for r in rule_set)
    # the database's uniqueness: one rule per (client, severity, source, name)
    assert len({(r.client_id, r.severity, r.source, r.name) for r in rule_set}) == 1000
    assert rules(spec, seed=1) == rule_set  # seeded
    assert rules(spec, seed=1, clients_prefix="x-")[0].client_id.startswith("x-")


def test_rule_set_spec_is_validated() -> None:
    with pytest.raises(ValueError, match="fan-out"):
        RuleSetSpec(clients=5, rules_per_client=1, fanout=6)
    with pytest.raises(ValueError, match="wildcard"):
        RuleSetSpec(clients=5, rules_per_client=1, wildcard_share=1.5)


def test_alert_ids_carry_the_prefix() -> None:
    spec = RuleSetSpec(clients=5, rules_per_client=2)
    ids = [a.alert_id for a in alerts(spec, 3, "e2e-lat-7-", 0)]
    assert ids == ["e2e-lat-7-0", "e2e-lat-7-1", "e2e-lat-7-2"]


def test_plans() -> None:
    assert QUICK.spec(10_000, 1).total == 10_000
    assert FULL.spec(100_000, 10).total == 100_000
    tiny = QUICK.scaled(0.01)
    assert tiny.evaluator_matches < QUICK.evaluator_matches
    assert tiny.e2e_latency_s >= 1 and tiny.sender_emails >= 20
    assert QUICK.scaled(1) is QUICK


def test_latencies_from_webhook_bodies() -> None:
    items = [
        {"received_at": 100.25, "body": {"context": {"bench_sent_at": "100.000000"}}},
        {"received_at": 101.0, "body": {"context": {"bench_sent_at": "100.5"}}},
    ]
    assert latencies_ms(items) == [pytest.approx(250.0), pytest.approx(500.0)]


def _stages() -> dict[str, list[dict[str, object]]]:
    return {
        "matching": [
            {"case": "a", "figure": "x", "rules": 10_000, "fanout": 1, "per_s": 300_000.0},
            {"case": "b", "figure": "x", "rules": 100_000, "fanout": 10, "per_s": 90_000.0},
            {"case": "c", "figure": "x", "rules": 100_000, "fanout": 1, "per_s": 250_000.0},
        ],
        "evaluator": [{"case": "a", "figure": "x", "rules": 10_000, "fanout": 1, "per_s": 9e3}],
        "aggregator": [{"case": "a", "figure": "x", "per_s": 5000.0}],
        "sender": [
            {"case": "w", "figure": "x", "channel": "webhook", "per_s": 900.0},
            {"case": "e", "figure": "x", "channel": "email", "per_s": 300.0},
        ],
        "e2e": [
            {
                "case": "lat",
                "figure": "x",
                "offered_rate": 1000.0,
                "latency_ms": {"p50_ms": 80.0, "p95_ms": 200.0, "p99_ms": 450.0},
            },
            {"case": "max", "figure": "x", "per_s": 1500.0, "notifications_per_s": 1500.0},
        ],
        "liveness": [
            {"case": "start", "figure": "x", "latency_ms": {"p50_ms": 90.0, "p99_ms": 700.0}},
            {"case": "steady", "figure": "x", "latency_ms": {"p50_ms": 40.0, "p99_ms": 80.0}},
        ],
    }


def test_result_document_has_every_headline_key_as_a_positive_number() -> None:
    document = results.assemble(_stages(), {"mode": "quick", "machine": results.machine()})
    assert results.missing_keys(document) == []
    assert document["matching_alerts_per_s"] == 250_000  # most rules, fan-out 1
    assert document["evaluator_alerts_per_s"] == 9e3
    assert document["sender_emails_per_s"] == 300
    assert document["e2e_p99_ms"] == 450
    assert document["e2e_offered_rate"] == 1000
    assert (document["rule_live_start_p99_ms"], document["rule_live_p99_ms"]) == (700, 80)
    assert document["machine"]["cores"] >= 1
    assert results.table(document).splitlines()[0].split() == ["stage", "case", "figure"]


def test_missing_keys_names_absent_zero_and_non_numbers() -> None:
    document = results.assemble(_stages(), {})
    document["e2e_p99_ms"] = 0
    document["sender_webhooks_per_s"] = "fast"
    del document["aggregator_notifications_per_s"]
    assert results.missing_keys(document) == [
        "aggregator_notifications_per_s",
        "sender_webhooks_per_s",
        "e2e_p99_ms",
    ]


def test_cpu_model_and_settings_without_secrets() -> None:
    assert results.cpu_model("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n") == "AMD EPYC 7B13"
    used = results.settings_used(
        {"ALERTING_ADMIN_TOKEN": "secret-token-123456", "ALERTING_BATCH_SIZE": "500", "HOME": "/"}
    )
    assert used == {"ALERTING_BATCH_SIZE": "500"}


def test_a_run_limited_to_some_stages_reports_their_headline_keys_only() -> None:
    only_sender = {k: v for k, v in _stages().items() if k == "sender"}
    document = results.assemble(only_sender, {})
    assert document["sender_webhooks_per_s"] > 0
    assert "e2e_p99_ms" not in document and "matching_alerts_per_s" not in document
    assert set(results.missing_keys(document)) == set(results.HEADLINE_KEYS) - {
        "sender_webhooks_per_s",
        "sender_emails_per_s",
    }


def test_only_takes_known_stage_names_in_run_order() -> None:
    assert stage_list("e2e, sender") == ("sender", "e2e")
    with pytest.raises(argparse.ArgumentTypeError, match=r"unknown stage.*senders"):
        stage_list("senders")
    with pytest.raises(argparse.ArgumentTypeError, match="none given"):
        stage_list(" , ")


def test_bench_silences_spread_over_clients_and_mute_only_their_targets() -> None:
    spec = RuleSetSpec(clients=100, rules_per_client=10, fanout=2)
    now = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    made = silences(spec, 1000, now)
    assert len({s.silence_id for s in made}) == 1000
    assert len({s.client_id for s in made}) == 100, "every client gets some"
    assert all(s.active_at(now) for s in made)
    index = RuleIndex(rules(spec))
    found = [(m.client_id, a) for a in alerts(spec, 2000, "t-", 0) for m in index.matches_for(a)]
    share = muted_share(SilenceIndex(made), found, now)
    assert 0.05 < share < 1, "the muting half of the silences hits a share of the matches"
    assert muted_share(SilenceIndex(made[2::4] + made[3::4]), found, now) == 0
    assert muted_share(SilenceIndex(made), found, now + dt.timedelta(days=2)) == 0


def test_the_headline_is_the_case_without_silences() -> None:
    cases = [
        {"case": "s", "rules": 10_000, "fanout": 1, "per_s": 1.0, "silences": 1000},
        {"case": "p", "rules": 10_000, "fanout": 1, "per_s": 2.0, "silences": 0},
    ]
    assert results.headline_case(cases)["case"] == "p"
    assert silences_label("x", 1000, 0.051) == "x, 1,000 silences (5.1% muted)"
    assert silences_label("x", 0, 0.0) == "x"


def test_the_in_process_pair_runs_the_evaluator_matcher_with_and_without_silences() -> None:
    plan = dataclasses.replace(QUICK, evaluator_rules=(1000,), matching_alerts=1000, silences=50)
    plain, silenced = hot_path.measure_one(plan, 1000, 1)
    assert (plain["silences"], silenced["silences"]) == (0, 50)
    assert plain["in_process"] and plain["per_s"] > 0 and silenced["per_s"] > 0
    assert 0 < silenced["muted_share"] < 0.5 and plain["muted_share"] == 0
    assert silenced["case"].startswith("in-process, 1,000 rules, fan-out 1, 50 silences (")
    evaluator_cases = [*hot_path.measure(dataclasses.replace(plan, silences=0), print), plain]
    assert results.headline_case([*evaluator_cases, _stages()["evaluator"][0]])["per_s"] == 9e3
