"""SnapshotState edits in place; after any sequence of edits it equals a plain dict model."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.domain.model import MatchingRule
from alerting.services.rule_updater.snapshot import SnapshotState

rule_ids = st.sampled_from([f"r{i}" for i in range(12)])
rules = st.builds(
    MatchingRule,
    rule_id=rule_ids,
    client_id=st.sampled_from(["a", "b"]),
    severity=st.sampled_from(["LOW", "HIGH", "*"]),
    source=st.sampled_from(["db", "*"]),
    name=st.sampled_from(["cpu", "*"]),
)
edits = st.lists(
    st.one_of(rules.map(lambda r: (r.rule_id, r)), rule_ids.map(lambda i: (i, None))),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(initial=st.lists(rules, max_size=12, unique_by=lambda r: r.rule_id), steps=edits)
def test_edits_match_a_dict_model_and_survive_serialisation(
    initial: list[MatchingRule], steps: list[tuple[str, MatchingRule | None]]
) -> None:
    state = SnapshotState.of(1, initial)
    model = {r.rule_id: r for r in initial}
    for rule_id, rule in steps:
        expected_change = model.get(rule_id) != rule
        assert state.apply({rule_id: rule}) == expected_change
        if rule is None:
            model.pop(rule_id, None)
        else:
            model[rule_id] = rule
        assert state.rules() == model
    again = SnapshotState.parse(state.serialize(7))
    assert again.version == 7
    assert again.rules() == model
    assert len(again) == len(model)
