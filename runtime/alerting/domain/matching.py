"""Matching alerts to rules in time independent of the number of rules.

A rule's three fields are each a value or the whole-field wildcard ``*``. Any rule
matching an alert is therefore stored under one of the 2**3 keys made by replacing
some of the alert's fields with ``*``: at most eight dictionary look-ups per alert
(one per wildcard shape that some rule has), whether there are ten rules or a million.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from alerting.domain.model import WILDCARD, Alert, AlertMatch, Rule

Key = tuple[str, str, str]


class RuleIndex:
    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        # key -> client -> that client's rule ids under the key, sorted once here so the
        # common case (one key matches) answers without building anything per alert.
        grouped: dict[Key, dict[str, list[str]]] = {}
        for rule in rules:
            key = (rule.severity, rule.source, rule.name)
            grouped.setdefault(key, {}).setdefault(rule.client_id, []).append(rule.rule_id)
        self._buckets: dict[Key, dict[str, tuple[str, ...]]] = {
            key: {client: tuple(sorted(set(ids))) for client, ids in clients.items()}
            for key, clients in grouped.items()
        }
        self._size = sum(len(ids) for c in self._buckets.values() for ids in c.values())
        # Which fields are wildcards, for each of the 2**3 shapes some rule has. Only
        # those keys are looked up: each look-up in a large index is a cache miss or
        # two, and real rule sets rarely use every shape.
        self._patterns = sorted({tuple(field == WILDCARD for field in key) for key in grouped})

    def __len__(self) -> int:
        return self._size

    def answers(self) -> Iterator[tuple[str, tuple[str, ...]]]:
        """Every (client, rule ids) that one key answers with: what ``match`` returns for
        an alert that hits only that key."""
        for clients in self._buckets.values():
            yield from clients.items()

    def match(self, severity: str, source: str, name: str) -> Mapping[str, tuple[str, ...]]:
        """Every client with a matching rule, mapped to all its matching rule ids (sorted).

        The result may be the index's own mapping: read it, do not change it.
        """
        get = self._buckets.get
        w = WILDCARD
        hits = []
        for any_severity, any_source, any_name in self._patterns:
            bucket = get(
                (
                    w if any_severity else severity,
                    w if any_source else source,
                    w if any_name else name,
                )
            )
            if bucket:
                hits.append(bucket)
        if len(hits) == 1:
            return hits[0]
        merged: dict[str, tuple[str, ...]] = {}
        for bucket in hits:
            for client, ids in bucket.items():
                seen = merged.get(client)
                # A rule sits under exactly one key, so ids from two keys never overlap.
                merged[client] = ids if seen is None else tuple(sorted(seen + ids))
        return merged

    def matches_for(self, alert: Alert) -> list[AlertMatch]:
        """One match per client, carrying all of that client's matching rules."""
        found = self.match(alert.severity.value, alert.source, alert.name)
        return [AlertMatch(alert, client, rule_ids) for client, rule_ids in sorted(found.items())]


def rule_matches(rule: Rule, severity: str, source: str, name: str) -> bool:
    """The definition of a match, field by field; the index must agree with it."""
    return all(
        want in (WILDCARD, got)
        for want, got in ((rule.severity, severity), (rule.source, source), (rule.name, name))
    )
