"""SnapshotState carries silences beside rules, edited in place the same way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from alerting import codec
from alerting.domain.model import MatchingRule
from alerting.domain.silences import Matcher, MatchOp, Schedule, Silence, WeeklyRange
from alerting.services.rule_updater.snapshot import SnapshotState
from alerting.v1 import messages_pb2 as pb

START = datetime(2026, 1, 5, tzinfo=UTC)
silence_ids = st.sampled_from([f"s{i}" for i in range(10)])


def silence(silence_id: str, value: str = "db", window: bool = False) -> Silence:
    return Silence(
        silence_id,
        "acme",
        (Matcher("source", MatchOp.EQUAL, value),),
        START,
        None if window else START + timedelta(hours=1),
        Schedule("Europe/Paris", (WeeklyRange(frozenset({0}), 120, 240),)) if window else None,
    )


entries = st.builds(
    lambda i, value, window, version: codec.silence_message(silence(i, value, window), version),
    silence_ids,
    st.sampled_from(["db", "web"]),
    st.booleans(),
    st.integers(1, 3),
)
edits = st.lists(
    st.one_of(entries.map(lambda s: (s.silence_id, s)), silence_ids.map(lambda i: (i, None))),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(steps=edits)
def test_silence_edits_match_a_dict_model_and_survive_serialisation(
    steps: list[tuple[str, pb.SnapshotSilence | None]],
) -> None:
    rule = MatchingRule("r1", "acme", "HIGH", "db", "*")
    state = SnapshotState.of(1, [rule])
    model: dict[str, pb.SnapshotSilence] = {}
    for silence_id, entry in steps:
        expected_change = model.get(silence_id) != entry
        assert state.apply_silences({silence_id: entry}) == expected_change
        if entry is None:
            model.pop(silence_id, None)
        else:
            model[silence_id] = entry
        assert state.silences() == model
    again = SnapshotState.parse(state.serialize(4))
    assert again.silences() == model
    assert again.rules() == {"r1": rule}, "silence edits leave the rules alone"
    decoded = codec.decode_snapshot(state.serialize(5))
    assert {s.silence_id for s in decoded.silences} == set(model)


def test_a_new_version_of_the_same_silence_is_a_change() -> None:
    first = codec.silence_message(silence("s1"), 1)
    state = SnapshotState.of(1, [], [first])
    assert state.silences() == {"s1": first}
    assert not state.apply_silences({"s1": codec.silence_message(silence("s1"), 1)})
    assert state.apply_silences({"s1": codec.silence_message(silence("s1"), 2)})
    assert state.silences()["s1"].version == 2
    assert state.apply_silences({"s1": None}) and state.silences() == {}
    assert not state.apply_silences({"s1": None}), "removing an absent silence is no change"
