"""The evaluator's Matcher produces exactly the AlertMatched messages the codec would."""

from __future__ import annotations

from hypothesis import given, settings

from alerting import codec
from alerting.domain.matching import RuleIndex
from alerting.domain.model import Alert, AlertMatch, MatchingRule, Severity
from alerting.services.evaluator.matcher import Matcher
from tests.unit.test_matching import alerts, rules


def by_client(match: AlertMatch) -> str:
    return match.client_id


@settings(max_examples=300, deadline=None)
@given(rules, alerts)
def test_matches_are_the_index_answer_encoded_by_the_codec(
    rule_list: list[MatchingRule], key: tuple[str, str, str]
) -> None:
    severity, source, name = key
    alert = Alert("a-1", Severity(severity), source, name, 1_700_000_000, {"region": "eu"})
    matcher = Matcher(rule_list)
    found = matcher.matches(codec.decode_wire_alert(codec.encode_alert(alert)))

    expected = RuleIndex(rule_list).match(severity, source, name)
    assert len(found) == len(expected)
    decoded = sorted((codec.decode_match(value) for _, value in found), key=by_client)
    assert decoded == [AlertMatch(alert, c, ids) for c, ids in sorted(expected.items())]
    for message_key, value in found:
        assert message_key == codec.decode_match(value).client_id.encode()


def test_a_client_hit_under_two_keys_gets_one_match_with_both_rules() -> None:
    # The merged answer is not among the pre-encoded ones: it is encoded when it occurs.
    matcher = Matcher(
        [
            MatchingRule("r2", "acme", "HIGH", "db", "*"),
            MatchingRule("r1", "acme", "*", "db", "cpu"),
        ]
    )
    alert = Alert("a-1", Severity.HIGH, "db", "cpu", 1)
    (found,) = matcher.matches(codec.decode_wire_alert(codec.encode_alert(alert)))
    assert found[0] == b"acme"
    assert codec.decode_match(found[1]) == AlertMatch(alert, "acme", ("r1", "r2"))


def test_no_match_is_an_empty_list() -> None:
    matcher = Matcher([MatchingRule("r1", "acme", "HIGH", "db", "*")])
    alert = Alert("a-1", Severity.LOW, "db", "cpu", 1)
    assert matcher.matches(codec.decode_wire_alert(codec.encode_alert(alert))) == []
