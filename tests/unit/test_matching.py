"""RuleIndex returns exactly what a brute-force scan of the rules returns."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.domain.matching import RuleIndex
from alerting.domain.model import MatchingRule
from alerting.domain.patterns import rule_matches

SEVERITIES = ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
# Small alphabets so random alerts actually hit random rules; "*" only as a whole field.
sources = st.sampled_from(["db", "api", "payments", "queue"])
names = st.sampled_from(["cpu", "disk", "latency", "errors"])


def wildcard_or(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.just("*"), values)


rules = st.lists(
    st.builds(
        MatchingRule,
        rule_id=st.uuids().map(str),
        client_id=st.sampled_from(["a", "b", "c", "d"]),
        severity=wildcard_or(st.sampled_from(SEVERITIES)),
        source=wildcard_or(sources),
        name=wildcard_or(names),
    ),
    max_size=60,
)
alerts = st.tuples(st.sampled_from(SEVERITIES), sources, names)


def brute_force(
    rules: list[MatchingRule], severity: str, source: str, name: str
) -> dict[str, tuple[str, ...]]:
    found: defaultdict[str, set[str]] = defaultdict(set)
    for rule in rules:
        if rule_matches(rule, severity, source, name):
            found[rule.client_id].add(rule.rule_id)
    return {client: tuple(sorted(ids)) for client, ids in found.items()}


@settings(max_examples=500, deadline=None)
@given(rules=rules, alerts=st.lists(alerts, min_size=1, max_size=10))
def test_index_agrees_with_brute_force(
    rules: list[MatchingRule], alerts: list[tuple[str, str, str]]
) -> None:
    index = RuleIndex(rules)
    assert len(index) == len(rules)
    for severity, source, name in alerts:
        assert index.match(severity, source, name) == brute_force(rules, severity, source, name)


def test_one_entry_per_client_with_all_its_rules() -> None:
    rules = [
        MatchingRule("r1", "acme", "HIGH", "payments", "*"),
        MatchingRule("r2", "acme", "*", "payments", "errors"),
        MatchingRule("r3", "acme", "LOW", "*", "*"),
        MatchingRule("r4", "globex", "*", "*", "errors"),
    ]
    assert RuleIndex(rules).match("HIGH", "payments", "errors") == {
        "acme": ("r1", "r2"),
        "globex": ("r4",),
    }
    assert RuleIndex(rules).match("MEDIUM", "db", "cpu") == {}
