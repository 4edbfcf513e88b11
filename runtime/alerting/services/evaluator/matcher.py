"""The rules as the evaluator's hot path uses them: the index, and its matches encoded.

Every (client, rule ids) the index can answer with is encoded as AlertMatched's key and
own fields when the rules load, in the loader's worker thread, so matching an alert
costs look-ups and one bytes concatenation per match: nothing is encoded on the hot
path (docs/performance.md, second round). The price is memory: a few hundred bytes
per rule (about 25 MB at 100,000 rules). Matches merged from several keys (a client
whose rules hit the same alert under different wildcards) are encoded when they occur.

Silences ride along in the same snapshot, compiled with the rules (``silencing``) and
held in each pre-encoded answer: a matched client with none costs nothing more; for
one with silences, the ids of those muting the alert at the batch's instant go into
the match (AlertMatched.silence_ids). What the silences decide for an alert shape is
remembered while none of them changes activity (``Silencing.decided``: one look-up
per alert, one per matched client with silences, the muting ids already encoded), and
the alert's context is read only if a silence holding but for the context needs it
(from the message the codec parsed; such silences are filed by context key and value).
An unmuted match is byte-identical to one without silences.
What this costs: docs/performance.md ("Silences in the evaluator").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from alerting import codec
from alerting.domain.matching import RuleIndex
from alerting.domain.model import WILDCARD, MatchingRule
from alerting.domain.patterns import Fields
from alerting.domain.silences import ALERT_FIELDS, Silence
from alerting.services.evaluator.silencing import (
    ClientSilences,
    Decision,
    Instant,
    Silencing,
    ids_muting,
)

Encoded = tuple[bytes, bytes]  # (message key, AlertMatched bytes)
# The message key, AlertMatched fields 8-9, and the client's silences (None: it has none).
_Answer = tuple[bytes, bytes, ClientSilences | None]
_MEMO_LIMIT = 10_000


class Matcher:
    def __init__(self, rules: Iterable[MatchingRule], silences: Iterable[Silence] = ()) -> None:
        self.index = RuleIndex(rules)
        self.silences = Silencing(silences)
        self._keys: dict[str, bytes] = {}
        # Keyed by the rule ids alone: a rule belongs to one client, so its ids name the
        # client too, and ``match`` hands back these very tuples (an identity hit). The
        # client's silences ride in the answer: no look-up of their own per match.
        self._answers: dict[tuple[str, ...], _Answer] = {}
        for key, client_id, rule_ids in self.index.keyed_answers():
            self._answers[rule_ids] = self._answer(client_id, rule_ids, key)
        self._muted_fields: dict[tuple[str, ...], bytes] = {}

    def __len__(self) -> int:
        return len(self.index)

    def matches(self, alert: codec.WireAlert, at: Instant | None = None) -> list[Encoded]:
        """One (key, AlertMatched bytes) per matching client; empty when none matches.

        ``at`` decides which silences are active (now when None); the evaluator makes
        one per batch.
        """
        found = self.index.match(alert.severity, alert.source, alert.name)
        out: list[Encoded] = []
        decided: Mapping[str, Decision] | None = None
        for client_id, rule_ids in found.items():
            answer = self._answers.get(rule_ids)
            if answer is None:
                answer = self._answer(client_id, rule_ids)
            key, fields, silenced = answer
            if silenced is not None:
                if decided is None:  # else it has every matched client's decision
                    only = silenced.only_table
                    if only is not None and only[0](alert) not in only[1]:
                        out.append((key, alert.wire + fields))
                        continue
                    at = at or Instant(datetime.now(UTC))
                    decided = self.silences.decided(alert, found, at)
                decision = decided.get(client_id) if decided else None
                if decision is not None:
                    if decision.reading is None:  # muted whatever the context: encoded
                        out.append((key, alert.wire + fields + decision.encoded))
                        continue
                    muting = ids_muting(decision, alert)
                    if muting:
                        out.append((key, alert.wire + fields + self._silence_ids(muting)))
                        continue
            out.append((key, alert.wire + fields))
        return out

    def _silence_ids(self, ids: tuple[str, ...]) -> bytes:
        """AlertMatched field 11: after fields 8-9, the bytes ``encode_match_fields``
        makes with these silence ids (fields serialise in number order)."""
        found = self._muted_fields.get(ids)
        if found is None:
            if len(self._muted_fields) >= _MEMO_LIMIT:
                self._muted_fields.clear()
            found = self._muted_fields[ids] = codec.encode_match_fields("", (), ids)
        return found

    def _answer(
        self, client_id: str, rule_ids: tuple[str, ...], patterns: Fields | None = None
    ) -> _Answer:
        """``patterns``: the one rule key ``rule_ids`` sit under (None: merged from
        several), whose fields every alert answered with them has, but wildcards; a
        client whose silences cannot mute such alerts is left out of the answer."""
        key = self._keys.get(client_id)
        if key is None:
            key = self._keys[client_id] = client_id.encode()
        fields = codec.encode_match_fields(client_id, rule_ids)
        silenced = self.silences.clients.get(client_id)
        if silenced is not None and patterns is not None:
            known = {f: v for f, v in zip(ALERT_FIELDS, patterns, strict=True) if v != WILDCARD}
            if not silenced.may_hold(known):
                silenced = None
        return key, fields, silenced
