"""Episodes: the reference model of which notification rows an alert's events make.

An episode of (client, alert_id) opens with a firing and closes with a resolved:

- a firing with no episode, or newer than the resolved that closed the latest episode
  (``event_ts`` after it), opens episode n + 1 and makes its ``firing`` row; a firing
  while an episode is open makes nothing (Prometheus re-sends a firing alert every
  evaluation interval);
- a firing not newer than that resolved (``event_ts`` before it or equal) is a late
  re-send of the closed episode and makes nothing: without an ``alert_id`` the derived
  id hashes ``event_ts``, so every event of such an alert has the same ``event_ts``,
  and a re-sent firing must not reopen it;
- a resolved while an episode is open makes that episode's ``resolved`` row, unless it
  is older than the firing that opened it (``event_ts`` before it): that is a late
  re-send of an earlier episode's resolved and makes nothing; a resolved with no open
  episode (a repeat, or one that arrived before its firing) makes nothing.

The two ``event_ts`` rules make a replay harmless: a consumer killed after storing or
producing a batch and before committing its offsets gets the batch again, and its
events (say the resolved of episode 1 and the firing that opened episode 2) must not
close episode 2 and open a third. Replaying any window of events already applied
makes nothing, whenever an alert's ``event_ts`` never decreases (events of one second
included). The price: a firing in the same second as the resolved before it is taken
for a re-send (the source's next re-send, a later second, opens the episode).

The aggregator enforces this in SQL with database constraints (unique per client,
alert, episode and kind); this model is what property tests hold that SQL to. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from alerting.domain.model import AlertStatus


class Kind(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class EpisodeRow:
    episode: int
    kind: Kind
    event_ts: int


@dataclass
class AlertEpisodes:
    """The rows of one (client, alert_id), in the order they were made."""

    rows: list[EpisodeRow] = field(default_factory=list)

    @property
    def open_episode(self) -> int | None:
        if self.rows and self.rows[-1].kind is Kind.FIRING:
            return self.rows[-1].episode
        return None

    def apply(self, status: AlertStatus, event_ts: int) -> EpisodeRow | None:
        """The row this event makes (None: nothing new), recorded."""
        last = self.rows[-1] if self.rows else None
        row: EpisodeRow | None = None
        if status is AlertStatus.FIRING:
            if last is None:
                row = EpisodeRow(1, Kind.FIRING, event_ts)
            elif last.kind is Kind.RESOLVED and event_ts > last.event_ts:
                row = EpisodeRow(last.episode + 1, Kind.FIRING, event_ts)
        elif last is not None and last.kind is Kind.FIRING and event_ts >= last.event_ts:
            row = EpisodeRow(last.episode, Kind.RESOLVED, event_ts)
        if row is not None:
            self.rows.append(row)
        return row
