"""Matching alerts to rules in time independent of the number of rules.

What matches is defined field by field in ``alerting.domain.patterns``: a pattern is a
value or the whole-field wildcard ``*``. Inverted, the patterns matching a value are the
value and ``*``, so any rule matching an alert is stored under one of the 2**3 keys made
by replacing some of the alert's fields with ``*``: at most eight dictionary look-ups
per alert (one per wildcard shape that some rule has), whether there are ten rules or a
million. ``rule_matches`` is the reference this index is tested against.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from alerting.domain.model import WILDCARD, Alert, AlertMatch, MatchingRule
from alerting.domain.patterns import Fields, is_wildcard, patterns_of


class RuleIndex:
    def __init__(self, rules: Iterable[MatchingRule] = ()) -> None:
        # key -> client -> that client's rule ids under the key, sorted once here so the
        # common case (one key matches) answers without building anything per alert.
        grouped: dict[Fields, dict[str, list[str]]] = {}
        for rule in rules:
            key = patterns_of(rule)
            grouped.setdefault(key, {}).setdefault(rule.client_id, []).append(rule.rule_id)
        self._buckets: dict[Fields, dict[str, tuple[str, ...]]] = {
            key: {client: tuple(sorted(set(ids))) for client, ids in clients.items()}
            for key, clients in grouped.items()
        }
        self._size = sum(len(ids) for c in self._buckets.values() for ids in c.values())
        # Which fields are wildcards, for each of the 2**3 shapes some rule has. Only
        # those keys are looked up: each look-up in a large index is a cache miss or
        # two, and real rule sets rarely use every shape.
        self._shapes = sorted({tuple(map(is_wildcard, key)) for key in grouped})

    def __len__(self) -> int:
        return self._size

    def answers(self) -> Iterator[tuple[str, tuple[str, ...]]]:
        """Every (client, rule ids) that one key answers with: what ``match`` returns for
        an alert that hits only that key."""
        for clients in self._buckets.values():
            yield from clients.items()

    def keyed_answers(self) -> Iterator[tuple[Fields, str, tuple[str, ...]]]:
        """``answers`` with the key (severity, source, name patterns) each comes from."""
        for key, clients in self._buckets.items():
            for client, ids in clients.items():
                yield key, client, ids

    def match(self, severity: str, source: str, name: str) -> Mapping[str, tuple[str, ...]]:
        """Every client with a matching rule, mapped to all its matching rule ids (sorted).

        The result may be the index's own mapping: read it, do not change it.
        """
        get = self._buckets.get
        w = WILDCARD
        hits = []
        # Per shape, the one key whose patterns all match: ``*`` where the shape has a
        # wildcard, the alert's own value elsewhere (``patterns.field_match`` inverted,
        # spelled out inline because this loop is the evaluator's per-alert cost).
        for any_severity, any_source, any_name in self._shapes:
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
