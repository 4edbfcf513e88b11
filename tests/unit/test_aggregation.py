"""Pure parts of the aggregator: merging a batch and refusing what Postgres would."""

from __future__ import annotations

import uuid

from alerting.domain.model import Alert, AlertMatch, Severity
from alerting.services.aggregator.store import merge
from alerting.services.aggregator.validation import MAX_EVENT_TS, unstorable

R1, R2 = str(uuid.uuid4()), str(uuid.uuid4())


def match(client: str = "acme", alert_id: str = "a1", *rules: str, **alert: object) -> AlertMatch:
    fields: dict[str, object] = {"event_ts": 1_700_000_000, "context": {}, **alert}
    base = Alert(alert_id, Severity.LOW, "db", "x", fields["event_ts"], fields["context"])  # type: ignore[arg-type]
    return AlertMatch(base, client, rules or (R1,))


def test_merge_keeps_one_match_per_client_and_alert_with_every_rule() -> None:
    merged = merge([match("acme", "a1", R1), match("acme", "a1", R2), match("bolt", "a1", R1)])
    assert [(m.client_id, m.alert.alert_id, m.rule_ids) for m in merged] == [
        ("acme", "a1", tuple(sorted((R1, R2)))),
        ("bolt", "a1", (R1,)),
    ]


def test_unstorable_names_the_problem() -> None:
    assert unstorable(match()) is None
    assert "not a UUID" in (unstorable(match("acme", "a1", "rule-1")) or "")
    assert "out of range" in (unstorable(match(event_ts=MAX_EVENT_TS + 1)) or "")
    assert "out of range" in (unstorable(match(event_ts=-1)) or "")
    assert "NUL" in (unstorable(match("ac\x00me")) or "")
    assert "NUL" in (unstorable(match(context={"k\x00": "v"})) or "")
