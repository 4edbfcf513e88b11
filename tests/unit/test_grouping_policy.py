"""domain.grouping: the policy a rule carries (parse, labels, key) and its timers."""

from __future__ import annotations

from typing import Any

import pytest

from alerting.domain import grouping
from alerting.domain.delivery_messages import FIRING, RESOLVED, OutgoingNotification
from alerting.domain.grouping import GroupingPolicy, InvalidGrouping, group_key, next_flush_s


def alert(**context: str) -> OutgoingNotification:
    return OutgoingNotification(
        "n-1", "acme", "a-1", "HIGH", "billing", "disk full", 0, ("r",), 1, context=context
    )


def test_an_empty_policy_takes_alertmanagers_defaults() -> None:
    policy = GroupingPolicy.parse({})
    assert policy == GroupingPolicy((), 30, 300, 14_400)
    assert policy.to_json() == {
        "group_by": [], "group_wait_s": 30, "group_interval_s": 300, "repeat_interval_s": 14_400,
    }  # fmt: skip


def test_a_stored_policy_reads_back_as_written() -> None:
    written = GroupingPolicy(("source", "context.cluster"), 0, 1, 1)
    assert GroupingPolicy.parse(written.to_json()) == written


@pytest.mark.parametrize(
    ("value", "field", "message"),
    [
        ([], "grouping", "must be an object"),
        (None, "grouping", "must be an object"),
        ({"group_wait": 1}, "grouping.group_wait", "unknown field"),
        ({"group_by": "source"}, "grouping.group_by", "must be a list"),
        ({"group_by": ["source"] * 9}, "grouping.group_by", "at most 8"),
        ({"group_by": ["source", 3]}, "grouping.group_by[1]", "must be a string"),
        ({"group_by": ["source", "host"]}, "grouping.group_by[1]", "context.<key>"),
        ({"group_by": ["context."]}, "grouping.group_by[0]", "context.<key>"),
        ({"group_by": ["context." + "k" * 129]}, "grouping.group_by[0]", "context.<key>"),
        ({"group_by": ["name", "name"]}, "grouping.group_by[1]", "listed twice"),
        ({"group_wait_s": -1}, "grouping.group_wait_s", "between 0 and 3600"),
        ({"group_wait_s": 3601}, "grouping.group_wait_s", "between 0 and 3600"),
        ({"group_wait_s": 1.5}, "grouping.group_wait_s", "whole number"),
        ({"group_wait_s": True}, "grouping.group_wait_s", "whole number"),
        ({"group_wait_s": "30"}, "grouping.group_wait_s", "whole number"),
        ({"group_interval_s": 0}, "grouping.group_interval_s", "between 1 and 86400"),
        ({"repeat_interval_s": 604_801}, "grouping.repeat_interval_s", "between 1 and 604800"),
        (
            {"group_interval_s": 600, "repeat_interval_s": 599},
            "grouping.repeat_interval_s",
            "at least group_interval_s",
        ),
    ],
)
def test_every_refusal_names_its_field(value: Any, field: str, message: str) -> None:
    with pytest.raises(InvalidGrouping) as refused:
        GroupingPolicy.parse(value)
    assert refused.value.field == field
    assert message in refused.value.message
    assert str(refused.value).startswith(f"{field}: ")


def test_the_bounds_themselves_are_accepted() -> None:
    policy = GroupingPolicy.parse(
        {"group_by": ["severity", "source", "name", *(f"context.k{i}" for i in range(5))],
         "group_wait_s": 3600, "group_interval_s": 86_400, "repeat_interval_s": 604_800}
    )  # fmt: skip
    assert len(policy.group_by) == grouping.MAX_GROUP_BY
    assert GroupingPolicy.parse({"group_wait_s": 0, "group_interval_s": 1}).group_wait_s == 0


def test_a_refusal_is_placed_under_the_callers_path() -> None:
    with pytest.raises(InvalidGrouping) as refused:
        GroupingPolicy.parse({"group_by": [1]}, where="rules[2].grouping")
    assert refused.value.field == "rules[2].grouping.group_by[0]"


def test_labels_read_alert_fields_and_context_keys_in_policy_order() -> None:
    policy = GroupingPolicy(("context.cluster", "severity", "source", "name"))
    assert policy.labels(alert(cluster="eu-1", other="x")) == {
        "context.cluster": "eu-1", "severity": "HIGH", "source": "billing", "name": "disk full",
    }  # fmt: skip


def test_a_missing_context_key_reads_as_empty_like_a_silence() -> None:
    policy = GroupingPolicy(("context.cluster",))
    assert policy.labels(alert()) == {"context.cluster": ""}
    assert group_key(policy.labels(alert())) == group_key(policy.labels(alert(cluster="")))
    assert GroupingPolicy().labels(alert(cluster="eu-1")) == {}


def test_group_key_is_canonical() -> None:
    one = group_key({"source": "billing", "context.cluster": "eu-1"})
    assert one == group_key({"context.cluster": "eu-1", "source": "billing"})
    assert one == '{"context.cluster":"eu-1","source":"billing"}'
    assert group_key({}) == "{}"
    # Not escaped to ASCII, and a value holding the separators cannot forge another key.
    assert group_key({"source": "zürich"}) == '{"source":"zürich"}'
    assert group_key({"a": 'x","b":"y'}) != group_key({"a": "x", "b": "y"})


@pytest.mark.parametrize(
    ("kind", "pending", "still_firing", "expected"),
    [
        (FIRING, True, True, 300.0),
        (FIRING, True, False, 300.0),
        (RESOLVED, True, False, 300.0),
        (FIRING, False, True, 14_400.0),
        (FIRING, False, False, None),
        (RESOLVED, False, True, None),
        (RESOLVED, False, False, None),
    ],
)
def test_next_flush(kind: str, pending: bool, still_firing: bool, expected: float | None) -> None:
    policy = GroupingPolicy()
    assert next_flush_s(policy, kind, pending=pending, still_firing=still_firing) == expected
