"""A batch as rounds: each (client, alert) at most once per round, its events in order.

The batch statement decides each input row against the alert's latest stored episode, so
two events of one alert in one statement would both be decided against the same state
(a firing and its resolved in one batch would open the episode and find nothing to
close). Round k holds each alert's k-th event; the rounds run one after the other in the
batch's transaction, each seeing the rows of the rounds before it. Almost every batch
is one round.

Consecutive events of one status are one event first, as the episode model
(``alerting.domain.episodes``) would treat them:

- resolved, resolved: only the first can close the open episode; it stands for both;
- firing, firing: they open an episode when any of them is not older than the resolved
  that closed the latest one, that is when the latest (highest ``event_ts``) is not; it
  stands for them, so the row carries the freshest fields of the run (the model's row
  would carry the first eligible one's: same episode, later ``event_ts`` and context).

The rule ids of the events a run folds are united, as redeliveries' always were (a match
redelivered under a newer snapshot may name another rule).
"""

from __future__ import annotations

from collections.abc import Sequence

from alerting.domain.model import AlertMatch, AlertStatus


def fold(first: AlertMatch, later: AlertMatch) -> AlertMatch:
    """Two consecutive events of one alert with the same status as one."""
    kept = first
    if first.alert.status is AlertStatus.FIRING and later.alert.event_ts > first.alert.event_ts:
        kept = later
    rule_ids = set(first.rule_ids) | set(later.rule_ids)
    if rule_ids == set(kept.rule_ids):
        return kept
    return AlertMatch(kept.alert, kept.client_id, tuple(sorted(rule_ids)), kept.silence_ids)


def rounds(matches: Sequence[AlertMatch]) -> list[list[AlertMatch]]:
    """The batch's rounds, alerts in order of first appearance in each."""
    runs: dict[tuple[str, str], list[AlertMatch]] = {}
    for m in matches:
        seen = runs.setdefault((m.client_id, m.alert.alert_id), [])
        if seen and seen[-1].alert.status is m.alert.status:
            seen[-1] = fold(seen[-1], m)
        else:
            seen.append(m)
    out: list[list[AlertMatch]] = []
    for events in runs.values():
        for k, event in enumerate(events):
            if k == len(out):
                out.append([])
            out[k].append(event)
    return out
