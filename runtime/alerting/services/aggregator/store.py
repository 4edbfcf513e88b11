"""The dedupe boundary: episodes of (client, alert) stored by one statement per round.

Each notification row is one ``kind`` (firing or resolved) of one ``episode`` of a
(client, alert); ``UNIQUE (client_id, alert_id, episode, kind)`` makes a second one
impossible, whatever redeliveries, retried POSTs or racing aggregators send: the loser's
insert fails on it, and its batch runs again (``upsert``) against the winner's rows.
Which row an event makes follows ``alerting.domain.episodes`` (docs/lifecycle.md),
decided per input row against the alert's latest stored row:

- a firing with no row, or newer than the latest row, a resolved (``event_ts``), opens
  the next episode: a firing row, ``SUPPRESSED`` with the first of the match's
  ``silence_ids`` when the evaluator found the alert silenced, else ``PENDING``;
- a resolved while the latest row is a firing not newer than it makes the episode's
  resolved row (an older one is a late re-send of an earlier episode's): it names
  the firing row (``firing_id``), takes its rule ids (it goes where the firing went), is
  ``SUPPRESSED`` with the firing's silence while the firing is (never sent), else
  ``PENDING``, due after ``READY_GRACE`` when the firing is final (SENT or FAILED) and
  after ``RESOLVED_WAIT`` otherwise (the sender wakes it when the firing becomes final);
- anything else makes nothing; a resolved that found no open episode (out of order, a
  repeat, or older than the open one) is counted (``Stored.orphaned``). With these two
  ``event_ts`` rules a replayed window of events (a batch again after a crash before
  the offset commit) makes nothing, even the resolved of one episode with the firing
  of the next.

The firing rows a round's resolveds close are read ``FOR SHARE`` (``locked``), which
sees their newest committed status: the release of a silence (SUPPRESSED -> PENDING,
which locks rows FOR UPDATE SKIP LOCKED) passes them over until this transaction ends, a
sender's UPDATE finishing one waits for that, and this read waits for either one already
under way. So a resolved row's status and due time agree with its firing's. They are
locked in ``notification_id`` order (``ORDER BY`` under ``FOR SHARE``: Postgres sorts,
then locks), the order in which the sender's ``HELD`` locks a batch's rows: in the
input's order, two resolveds whose firings finish in one sender batch could take them
the other way round and deadlock. A deadlock Postgres still reports (an order this does
not cover) aborts one side without losing work: the aggregator's batch is rewound and
handled again (nothing was committed), and the sender's outcome write retries it like a
store outage. Nothing else is locked: a re-sent firing, the common case, writes nothing
at all.

The latest row is found per input row by the unique index read backwards (LATERAL,
``ORDER BY episode DESC, kind DESC LIMIT 1``: ``resolved`` sorts after ``firing``), so
the work per batch stays O(batch) whatever the table's size (docs/performance.md,
second round; tests/integration/test_batch_plans.py). Each alert appears at most once
per statement: a batch with several events of one alert runs as rounds (``rounds.py``),
each a statement that sees the rounds before it, all in the batch's transaction.

The statement also returns the latest episode's rows that already existed and are not
yet delivered (PENDING, SENDING, RETRY: the latest row, and the firing row of a latest
resolved, by primary key), so that a batch redelivered after a crash between the INSERT
and the publish is published again; otherwise those notifications would sit in PENDING
until the sender's safety-net poll. Both halves run in one statement: the SELECT half
sees the table as it was before the INSERT, so a round never reports a row twice (and
``insert_batch`` reports each row once across rounds).

New rows get time-ordered ids (``uuid_v7()``, migration 0010): each batch inserts at the
right edge of the primary key, and the sender's lookups of their deliveries stay there
too, in cached pages; random ids read a page per row once ten million stored
notifications outgrow Postgres' buffers (docs/performance.md, "Over stored history").

Only matches at least one of whose rules still exists and is the client's are stored,
with those rules only (``live``): a match already in Kafka when its client was deleted
(the evaluator's snapshot lags a deletion by the outbox and the rule-updater) must not
leave a row behind the deletion's purge, nor land in a re-created client of the same
id, whose rules have new ids. The check is per distinct (client, rule id) of the batch
(``pairs``: a batch names few rules), one primary-key probe of ``rules`` each (LATERAL
with ``OFFSET 0``: never a scan of the rules or of the client's rules, which may be
thousands); only when one is ``gone`` are the rows' rule lists filtered. A per-row
filter cost the aggregator about 25 % of its throughput (docs/performance.md). A match
with no live rule does nothing, a resolved one included.

The batch runs under the shared ``CLIENT_DELETION_LOCK``, taken in a statement of its own so
that the upsert's snapshot is taken after it: a deletion waits for the batches already
running, whose rows its purge then sees, and the batches after it see the rules gone. A
key-share lock on each client's row would do the same, but writes to that row in every
batch (measured: about 10 % more per statement at 1,000 clients).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from alerting.adapters.postgres import CLIENT_DELETION_LOCK
from alerting.domain.model import AlertMatch
from alerting.services.aggregator.rounds import rounds

# How long a new notification waits for its NotificationReady before the sender's
# poller claims it anyway (the safety net for a ready message that never arrives).
READY_GRACE = "30 seconds"
# A resolved row whose firing is not final yet waits this long before the poller looks
# at it: a safety net, since the sender wakes it when its firing becomes final.
RESOLVED_WAIT = "5 minutes"
# Rows a repeated alert re-announces (a NotificationReady, for a ready message that may
# have been lost). Not GROUPED: no sender claims a GROUPED row, its group's flusher
# delivers it without a ready message, so announcing it again would do nothing.
UNDELIVERED = "('PENDING', 'SENDING', 'RETRY')"

UPSERT = f"""
WITH input AS (
    SELECT * FROM unnest(
        $1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
        $7::bigint[], $8::text[], $9::text[], $10::uuid[]
    ) AS t(client_id, alert_id, severity, source, name, context, event_ts, rule_ids,
           kind, silence_id)
), pairs AS MATERIALIZED (
    SELECT DISTINCT i.client_id, u.id
    FROM input i CROSS JOIN LATERAL unnest(string_to_array(i.rule_ids, ',')::uuid[]) AS u(id)
), gone AS MATERIALIZED (
    SELECT p.client_id, p.id FROM pairs p
    LEFT JOIN LATERAL (
        SELECT true AS found FROM rules r
        WHERE r.rule_id = p.id AND r.client_id = p.client_id OFFSET 0
    ) r ON true
    WHERE r.found IS NULL
), live AS MATERIALIZED (
    SELECT i.client_id, i.alert_id, i.severity, i.source, i.name, i.context, i.event_ts,
        i.kind, i.silence_id,
        CASE WHEN NOT EXISTS (SELECT 1 FROM gone)
            THEN string_to_array(i.rule_ids, ',')::uuid[]
            ELSE ARRAY(
                SELECT u.id FROM unnest(string_to_array(i.rule_ids, ',')::uuid[]) AS u(id)
                WHERE NOT EXISTS (
                    SELECT 1 FROM gone g WHERE g.id = u.id AND g.client_id = i.client_id
                )
            )
        END AS rule_ids
    FROM input i
), latest AS MATERIALIZED (
    SELECT i.*, l.notification_id AS last_id, l.episode AS last_episode,
        l.kind AS last_kind, l.event_ts AS last_ts, l.status AS last_status,
        l.firing_id AS last_firing_id
    FROM live i
    LEFT JOIN LATERAL (
        SELECT n.notification_id, n.episode, n.kind, n.event_ts, n.status, n.firing_id
        FROM notifications n
        WHERE n.client_id = i.client_id AND n.alert_id = i.alert_id
        ORDER BY n.episode DESC, n.kind DESC LIMIT 1
    ) l ON true
    WHERE cardinality(i.rule_ids) > 0
), locked AS MATERIALIZED (
    SELECT n.notification_id, n.rule_ids, n.status, n.silence_id FROM notifications n
    WHERE n.notification_id = ANY(ARRAY(
        SELECT last_id FROM latest
        WHERE kind = 'resolved' AND last_kind = 'firing' AND to_timestamp(event_ts) >= last_ts
    ))
    ORDER BY n.notification_id
    FOR SHARE
), closing AS MATERIALIZED (
    SELECT i.*, f.rule_ids AS firing_rule_ids, f.status AS firing_status,
        f.silence_id AS firing_silence_id
    FROM latest i JOIN locked f ON f.notification_id = i.last_id
    WHERE i.kind = 'resolved'
), inserted AS (
    INSERT INTO notifications (
        notification_id, client_id, alert_id, severity, source, name, context, event_ts,
        rule_ids, status, next_attempt_at, kind, episode, firing_id, silence_id
    )
    SELECT uuid_v7(), client_id, alert_id, severity, source, name, context::jsonb,
           to_timestamp(event_ts), rule_ids,
           CASE WHEN silence_id IS NULL THEN 'PENDING' ELSE 'SUPPRESSED' END,
           now() + interval '{READY_GRACE}', 'firing', coalesce(last_episode, 0) + 1, NULL,
           silence_id
    FROM latest
    WHERE kind = 'firing'
        AND (last_kind IS NULL OR (last_kind = 'resolved' AND to_timestamp(event_ts) > last_ts))
    UNION ALL
    SELECT uuid_v7(), client_id, alert_id, severity, source, name, context::jsonb,
           to_timestamp(event_ts), firing_rule_ids,
           CASE WHEN firing_status = 'SUPPRESSED' THEN 'SUPPRESSED' ELSE 'PENDING' END,
           now() + CASE WHEN firing_status IN ('SENT', 'FAILED')
               THEN interval '{READY_GRACE}' ELSE interval '{RESOLVED_WAIT}' END,
           'resolved', last_episode, last_id,
           CASE WHEN firing_status = 'SUPPRESSED' THEN firing_silence_id END
    FROM closing
    RETURNING notification_id, client_id, alert_id, status
)
SELECT notification_id, client_id, alert_id, true AS created, status = 'PENDING' AS announce
FROM inserted
UNION ALL
SELECT last_id, client_id, alert_id, false, true FROM latest
WHERE last_status IN {UNDELIVERED}
UNION ALL
SELECT n.notification_id, i.client_id, i.alert_id, false, true
FROM latest i
CROSS JOIN LATERAL (
    SELECT n.notification_id FROM notifications n
    WHERE n.notification_id = i.last_firing_id AND n.status IN {UNDELIVERED}
    OFFSET 0
) n
WHERE i.last_firing_id IS NOT NULL
UNION ALL
SELECT NULL, client_id, alert_id, false, false FROM latest
WHERE kind = 'resolved'
    AND (last_kind IS DISTINCT FROM 'firing' OR to_timestamp(event_ts) < last_ts)
"""


@dataclass(frozen=True, slots=True)
class Pending:
    """A notification to announce: new, or redelivered and not yet delivered."""

    notification_id: str
    client_id: str
    alert_id: str
    created: bool


@dataclass(frozen=True, slots=True)
class Stored:
    """What a batch did: the notifications to announce (each once), the rows it made
    (SUPPRESSED ones too, never announced) and the resolved alerts that found no open
    episode."""

    pending: list[Pending]
    created: int
    orphaned: int


# BEGIN and the shared lock in one round trip (a simple query): the batch's upsert is the
# aggregator's every database trip, and each added one is latency per batch.
BEGIN_LOCKED = f"BEGIN; SELECT pg_advisory_xact_lock_shared({CLIENT_DELETION_LOCK})"
# The race guard is the episode key itself, not ON CONFLICT DO NOTHING: with it every
# new row probed the key twice more (the pre-check, then the insert) and wrote its heap
# tuple twice (speculative insert, then confirm), 15 % of a batch's buffer hits at three
# million stored (docs/performance.md, "The client indexes merged"). A plain INSERT
# checks the key once, as it inserts. The price falls on a race only (two aggregators
# on one alert during a rebalance): the loser's INSERT fails once the winner commits,
# and its whole batch runs again in a new transaction, where the look-up sees the
# winner's rows and makes what the episode model says (nothing, for the same event).
# A retry conflicts again only if yet another racer commits in between: three is ample.
EPISODE_KEY = "notifications_episode_unique"
RACE_ATTEMPTS = 3


async def upsert(pool: asyncpg.Pool[Any], matches: Sequence[AlertMatch]) -> Stored:
    """Store a batch: BEGIN with the shared client deletion lock, its rounds, COMMIT; again
    from the start when a racing batch committed a row this one makes (``RACE_ATTEMPTS``)."""
    for attempt in range(1, RACE_ATTEMPTS + 1):
        try:
            return await _upsert_once(pool, matches)
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name != EPISODE_KEY or attempt == RACE_ATTEMPTS:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


async def _upsert_once(pool: asyncpg.Pool[Any], matches: Sequence[AlertMatch]) -> Stored:
    async with pool.acquire() as conn:
        await conn.execute(BEGIN_LOCKED)
        try:
            stored = await insert_batch(conn, matches)
        except BaseException:
            if not conn.is_closed():
                await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
    return stored


async def insert_batch(conn: Any, matches: Sequence[AlertMatch]) -> Stored:
    """The batch's rounds alone, in ``conn``'s transaction, which holds the shared client
    deletion lock already (``BEGIN_LOCKED``)."""
    pending: dict[str, Pending] = {}
    created = orphaned = 0
    for batch in rounds(matches):
        # Records unpacked in UPSERT's column order: a look-up by name costs more.
        for notification_id, client_id, alert_id, new, announce in await conn.fetch(
            UPSERT, *arguments(batch)
        ):
            if notification_id is None:
                orphaned += 1
                continue
            created += new
            key = str(notification_id)
            if announce and key not in pending:
                pending[key] = Pending(key, client_id, alert_id, new)
    return Stored(list(pending.values()), created, orphaned)


def arguments(batch: Sequence[AlertMatch]) -> list[list[Any]]:
    """``UPSERT``'s parameters for one round: an array per column, an element per match.

    Severity and status are ``StrEnum`` members, sent as the strings they are (their
    ``.value`` is a slow descriptor); an empty context, the common case, is ``{}``
    without a JSON encoder call.
    """
    alerts = [m.alert for m in batch]
    return [
        [m.client_id for m in batch],
        [a.alert_id for a in alerts],
        [a.severity for a in alerts],
        [a.source for a in alerts],
        [a.name for a in alerts],
        [json.dumps(dict(a.context)) if a.context else "{}" for a in alerts],
        [a.event_ts for a in alerts],
        [",".join(m.rule_ids) for m in batch],
        [a.status for a in alerts],
        [m.silence_ids[0] if m.silence_ids else None for m in batch],
    ]
