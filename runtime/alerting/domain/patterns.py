"""What matches: a rule's field patterns against an alert's values, defined once.

A rule has one pattern per matched field (``MATCHED_FIELDS``). A pattern is either the
whole-field wildcard ``*``, which matches every value, or an exact value, which matches
only itself; there are no partial patterns. ``field_match`` is that definition, and
everything else that decides a match is built on it:

- ``rule_matches`` and ``explain`` (what ``POST /api/v1/match`` shows) apply it field by
  field;
- ``RuleIndex`` (the evaluator's hot path) inverts it: the only patterns matching a value
  are the value itself and ``*``, so an alert's rules sit under at most 2**3 keys;
- the rule-service's SQL spells it as ``field IN (value, '*')``; an integration test
  holds that query to this module.
"""

from __future__ import annotations

from typing import Final, Literal

from alerting.domain.model import WILDCARD, MatchingRule

MATCHED_FIELDS: Final = ("severity", "source", "name")
# One string per matched field, in MATCHED_FIELDS order: a rule's patterns, or the
# values of an alert.
Fields = tuple[str, str, str]
# How a field matched: "wildcard" (the pattern is ``*``) or "exact" (it equals the value).
FieldMatch = Literal["exact", "wildcard"]


def is_wildcard(pattern: str) -> bool:
    """True when ``pattern`` matches every value."""
    return pattern == WILDCARD


def field_match(pattern: str, value: str) -> FieldMatch | None:
    """How ``pattern`` matches ``value``; None when it does not."""
    if is_wildcard(pattern):
        return "wildcard"
    if pattern == value:
        return "exact"
    return None


def patterns_of(rule: MatchingRule) -> Fields:
    """The rule's patterns, in MATCHED_FIELDS order."""
    return (rule.severity, rule.source, rule.name)


def explain(patterns: Fields, values: Fields) -> dict[str, FieldMatch] | None:
    """Per field, how the patterns matched the values; None when any field does not."""
    why: dict[str, FieldMatch] = {}
    for field, pattern, value in zip(MATCHED_FIELDS, patterns, values, strict=True):
        how = field_match(pattern, value)
        if how is None:
            return None
        why[field] = how
    return why


def rule_matches(rule: MatchingRule, severity: str, source: str, name: str) -> bool:
    """Whether every field of ``rule`` matches the alert's: the reference the faster
    forms (the index, the SQL) are tested against."""
    return all(
        field_match(pattern, value) is not None
        for pattern, value in zip(patterns_of(rule), (severity, source, name), strict=True)
    )
