"""The rule snapshot as an editable value.

It wraps the protobuf message itself rather than domain objects, and edits it in place
(swap-with-last removal, an index by rule id): a change never rebuilds the message from
every rule, and serialising is the only step that grows with the rule count
(`tools/bench_snapshot.py` measures it; docs/performance.md has the figures). No I/O.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from alerting.codec import SCHEMA_VERSION, DecodeError
from alerting.domain.model import MatchingRule
from alerting.v1 import messages_pb2 as pb


class SnapshotState:
    def __init__(self, message: pb.RuleSnapshot) -> None:
        self._message = message
        self._index = {r.rule_id: i for i, r in enumerate(message.rules)}

    @classmethod
    def of(cls, version: int, rules: Iterable[MatchingRule]) -> SnapshotState:
        message = pb.RuleSnapshot(version=version, schema_version=SCHEMA_VERSION)
        for r in rules:
            message.rules.add(
                rule_id=r.rule_id,
                client_id=r.client_id,
                severity=r.severity,
                source=r.source,
                name=r.name,
            )
        return cls(message)

    @classmethod
    def parse(cls, data: bytes) -> SnapshotState:
        message = pb.RuleSnapshot()
        try:
            message.ParseFromString(data)
        except Exception as exc:
            raise DecodeError(f"stored snapshot is not a RuleSnapshot: {exc}") from None
        return cls(message)

    @property
    def version(self) -> int:
        return self._message.version

    def __len__(self) -> int:
        return len(self._message.rules)

    def rules(self) -> dict[str, MatchingRule]:
        return {
            r.rule_id: MatchingRule(r.rule_id, r.client_id, r.severity, r.source, r.name)
            for r in self._message.rules
        }

    def apply(self, current: Mapping[str, MatchingRule | None]) -> bool:
        """Make each listed rule match its current state (None: absent or disabled).

        Returns whether anything changed. State-based, so replays are harmless.
        """
        changed = False
        for rule_id, rule in current.items():
            if rule is None:
                changed |= self._remove(rule_id)
            else:
                changed |= self._upsert(rule)
        return changed

    def _upsert(self, rule: MatchingRule) -> bool:
        i = self._index.get(rule.rule_id)
        if i is None:
            self._index[rule.rule_id] = len(self._message.rules)
            entry = self._message.rules.add()
        else:
            entry = self._message.rules[i]
            if (entry.client_id, entry.severity, entry.source, entry.name) == (
                rule.client_id,
                rule.severity,
                rule.source,
                rule.name,
            ):
                return False
        entry.rule_id = rule.rule_id
        entry.client_id = rule.client_id
        entry.severity = rule.severity
        entry.source = rule.source
        entry.name = rule.name
        return True

    def _remove(self, rule_id: str) -> bool:
        i = self._index.pop(rule_id, None)
        if i is None:
            return False
        rules = self._message.rules
        last = len(rules) - 1
        if i != last:
            rules[i].CopyFrom(rules[last])
            self._index[rules[i].rule_id] = i
        del rules[last]
        return True

    def serialize(self, version: int) -> bytes:
        """The snapshot's bytes at ``version`` (the state is stamped with it)."""
        self._message.version = version
        self._message.schema_version = SCHEMA_VERSION
        self._message.built_at = int(time.time() * 1000)
        return self._message.SerializeToString()
