"""The rule snapshot as an editable value.

It wraps the protobuf message itself rather than domain objects, and edits it in place
(swap-with-last removal, an index by id): a change never rebuilds the message from
every rule or silence, and serialising is the only step that grows with their count
(`tools/bench_snapshot.py` measures it; docs/performance.md has the figures). No I/O.

Silences travel as the `SnapshotSilence` entries the rule-updater builds from their rows
(``codec.silence_message``, with their version), and compare as such: a new version of
a silence is a change even when its matchers did not move.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar

from alerting.codec import SCHEMA_VERSION, DecodeError
from alerting.domain.model import MatchingRule
from alerting.v1 import messages_pb2 as pb

E = TypeVar("E", pb.SnapshotRule, pb.SnapshotSilence)


class _Entries(Generic[E]):
    """One repeated field of the snapshot, indexed by its entries' id field."""

    def __init__(self, field: Any, id_field: str) -> None:
        self._field = field
        self._id_field = id_field
        self._index: dict[str, int] = {getattr(e, id_field): i for i, e in enumerate(field)}

    def __len__(self) -> int:
        return len(self._field)

    def __iter__(self) -> Any:
        return iter(self._field)

    def apply(self, current: Mapping[str, E | None]) -> bool:
        """Make each listed entry its current state (None: absent); whether anything moved."""
        changed = False
        for entry_id, entry in current.items():
            changed |= self._remove(entry_id) if entry is None else self._put(entry)
        return changed

    def _put(self, entry: E) -> bool:
        entry_id = getattr(entry, self._id_field)
        i = self._index.get(entry_id)
        if i is None:
            self._index[entry_id] = len(self._field)
            self._field.add().CopyFrom(entry)
            return True
        if self._field[i] == entry:
            return False
        self._field[i].CopyFrom(entry)
        return True

    def _remove(self, entry_id: str) -> bool:
        i = self._index.pop(entry_id, None)
        if i is None:
            return False
        field = self._field
        last = len(field) - 1
        if i != last:
            field[i].CopyFrom(field[last])
            self._index[getattr(field[i], self._id_field)] = i
        del field[last]
        return True


def _rule_entry(rule: MatchingRule) -> pb.SnapshotRule:
    return pb.SnapshotRule(
        rule_id=rule.rule_id,
        client_id=rule.client_id,
        severity=rule.severity,
        source=rule.source,
        name=rule.name,
    )


class SnapshotState:
    def __init__(self, message: pb.RuleSnapshot) -> None:
        self._message = message
        self._rules: _Entries[pb.SnapshotRule] = _Entries(message.rules, "rule_id")
        self._silences: _Entries[pb.SnapshotSilence] = _Entries(message.silences, "silence_id")

    @classmethod
    def of(
        cls,
        version: int,
        rules: Iterable[MatchingRule],
        silences: Iterable[pb.SnapshotSilence] = (),
    ) -> SnapshotState:
        message = pb.RuleSnapshot(version=version, schema_version=SCHEMA_VERSION)
        message.rules.extend(_rule_entry(r) for r in rules)
        message.silences.extend(silences)
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
        return len(self._rules)

    @property
    def silence_count(self) -> int:
        return len(self._silences)

    def rules(self) -> dict[str, MatchingRule]:
        return {
            r.rule_id: MatchingRule(r.rule_id, r.client_id, r.severity, r.source, r.name)
            for r in self._rules
        }

    def silences(self) -> dict[str, pb.SnapshotSilence]:
        return {s.silence_id: s for s in self._silences}

    def apply(self, current: Mapping[str, MatchingRule | None]) -> bool:
        """Make each listed rule match its current state (None: absent or disabled).

        Returns whether anything changed. State-based, so replays are harmless.
        """
        return self._rules.apply(
            {rule_id: None if r is None else _rule_entry(r) for rule_id, r in current.items()}
        )

    def apply_silences(self, current: Mapping[str, pb.SnapshotSilence | None]) -> bool:
        """``apply`` for silences (None: absent or over)."""
        return self._silences.apply(current)

    def serialize(self, version: int) -> bytes:
        """The snapshot's bytes at ``version`` (the state is stamped with it)."""
        self._message.version = version
        self._message.schema_version = SCHEMA_VERSION
        self._message.built_at = int(time.time() * 1000)
        return self._message.SerializeToString()
