"""Why a rule matches an alert, field by field (pure).

A rule field matches when it is the whole-field wildcard ``*`` or equals the alert's
value exactly; there are no partial patterns. The evaluator matches with hash lookups;
this is the readable form the ``/match`` endpoint shows to people.
"""

from __future__ import annotations

from typing import Literal

from alerting.domain.model import WILDCARD

FieldMatch = Literal["exact", "wildcard"]
FIELDS = ("severity", "source", "name")


def field_match(rule_value: str, alert_value: str) -> FieldMatch | None:
    if rule_value == WILDCARD:
        return "wildcard"
    if rule_value == alert_value:
        return "exact"
    return None


def explain(
    rule: tuple[str, str, str], alert: tuple[str, str, str]
) -> dict[str, FieldMatch] | None:
    """Per field, how the rule matched; None when any field does not match."""
    why: dict[str, FieldMatch] = {}
    for field, rule_value, alert_value in zip(FIELDS, rule, alert, strict=True):
        how = field_match(rule_value, alert_value)
        if how is None:
            return None
        why[field] = how
    return why
