"""The rules as the evaluator's hot path uses them: the index, and its matches encoded.

Every (client, rule ids) the index can answer with is encoded as AlertMatched's key and
own fields when the rules load, in the loader's worker thread, so matching an alert
costs look-ups and one bytes concatenation per match: nothing is encoded on the hot
path (docs/performance.md, second round). The price is memory: a few hundred bytes
per rule (about 25 MB at 100,000 rules). Matches merged from several keys (a client
whose rules hit the same alert under different wildcards) are encoded when they occur.
"""

from __future__ import annotations

from collections.abc import Iterable

from alerting import codec
from alerting.domain.matching import RuleIndex
from alerting.domain.model import MatchingRule

Encoded = tuple[bytes, bytes]  # (message key, AlertMatched fields 8-9)


class Matcher:
    def __init__(self, rules: Iterable[MatchingRule]) -> None:
        self.index = RuleIndex(rules)
        self._keys: dict[str, bytes] = {}
        # Keyed by the rule ids alone: a rule belongs to one client, so its ids name the
        # client too, and ``match`` hands back these very tuples (an identity hit).
        self._encoded: dict[tuple[str, ...], Encoded] = {}
        for client_id, rule_ids in self.index.answers():
            self._encoded[rule_ids] = self._encode(client_id, rule_ids)

    def __len__(self) -> int:
        return len(self.index)

    def matches(self, alert: codec.WireAlert) -> list[Encoded]:
        """One (key, AlertMatched bytes) per matching client; empty when none matches."""
        found = self.index.match(alert.severity, alert.source, alert.name)
        out: list[Encoded] = []
        for client_id, rule_ids in found.items():
            encoded = self._encoded.get(rule_ids)
            if encoded is None:
                encoded = self._encode(client_id, rule_ids)
            out.append((encoded[0], alert.wire + encoded[1]))
        return out

    def _encode(self, client_id: str, rule_ids: tuple[str, ...]) -> Encoded:
        key = self._keys.get(client_id)
        if key is None:
            key = self._keys[client_id] = client_id.encode()
        return key, codec.encode_match_fields(client_id, rule_ids)
