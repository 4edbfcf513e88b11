"""Weeks of stored history for the ``stored`` case: notifications, their deliveries and
delivery attempts, generated inside Postgres (``INSERT ... SELECT generate_series``).

Generated server side because it is the fastest way measured (docs/performance.md,
"Over stored history"): no row crosses the wire, and one statement per chunk fills the three tables
through data-modifying CTEs. Every value is a function of the row number ``i``, so a
chunk is independent of the others (chunks may load in parallel) and a resolved row
names its firing row's id (``md5``-derived: random-looking, like ``gen_random_uuid()``
ids, so the primary key index grows as production's does, not in order). A chunk's
rows are inserted in id order: each chunk then walks the three primary keys (all led by
the notification id) once, left to right, instead of at 100,000 random places, which
is what made the load slow down as those indexes outgrew Postgres' buffers.

The shape of every block of ten rows (``j = i % 10``), one block per ten alerts' worth
of traffic of one client (``HISTORY_CLIENTS`` of them):

- j 0..8: a firing row of its own alert, ``SENT`` after one attempt, except
  j 5 of every 4th block (``SENT`` on the 2nd attempt, after a 503),
  j 6 of every 5th block (``SUPPRESSED`` by a silence, settled, never delivered),
  j 7 of every 2nd block (``FAILED`` after 4 attempts);
- j 9: the resolved row of j 8's episode, ``SENT``.

So 93 % SENT, 5 % FAILED, 2 % SUPPRESSED, 10 % resolved rows; nothing PENDING,
RETRY or SENDING: history is final, and the cases timed over it must find no work but
their own. ``created_at`` spreads evenly over the plan's days up to the load's start.

The notifications heap is written with free space in every page (``FILL``), as
production's leaves it: there every row is inserted PENDING and changed at least twice
(claimed SENDING, then SENT or FAILED, attempts counted), and VACUUM turns each
superseded version into a whole row's worth of free space on its page. Written once in
its final state, a page is packed and VACUUM records only its leftover (less than one
history row, more than one of the bench's new rows), so every new row of a batch would
take an old page of its own: ~500 cold heap pages read per batch of 500 that a
production database does not read (docs/performance.md, "What reads the heap"). The
fill factor is set for the load only and restored before the closing VACUUM, which
records the free space: new rows then fill it, a batch's rows sharing a few old pages.
Reserving the room costs the load nothing measurable; making it by updating each
chunk's rows after their insert (a new version in all seven indexes) doubled it.
deliveries and delivery_attempts are left packed: a delivery is written once in the
common case and an attempt always, and their new rows are no smaller than the stored
ones, so none lands in an old page.
"""

from __future__ import annotations

from dataclasses import dataclass

HISTORY_CLIENTS = 1000
PREFIX = "hist-"
# Percent of each notifications page the history fills: the other half is the room one
# superseded version of each of its rows leaves once vacuumed.
FILL = 50

# $1, $2: the chunk's row numbers [lo, hi); $3: total rows; $4: the first created_at;
# $5: the seconds the history spans.
ROWS = f"""
rows AS MATERIALIZED (
    SELECT g.i, md5('n' || g.i)::uuid AS id, v.client_id, v.kind, v.status, v.attempts,
        v.created_at, v.b, v.j,
        md5('e' || v.client_id)::uuid AS endpoint_id
    FROM generate_series($1::bigint, $2::bigint - 1) AS g(i)
    CROSS JOIN LATERAL (SELECT g.i / 10 AS b, g.i % 10 AS j) k
    CROSS JOIN LATERAL (
        SELECT '{PREFIX}c' || (k.b % {HISTORY_CLIENTS}) AS client_id, k.b, k.j,
            CASE WHEN k.j = 9 THEN 'resolved' ELSE 'firing' END AS kind,
            CASE WHEN k.j = 6 AND k.b % 5 = 0 THEN 'SUPPRESSED'
                WHEN k.j = 7 AND k.b % 2 = 0 THEN 'FAILED' ELSE 'SENT' END AS status,
            CASE WHEN k.j = 6 AND k.b % 5 = 0 THEN 0
                WHEN k.j = 7 AND k.b % 2 = 0 THEN 4
                WHEN k.j = 5 AND k.b % 4 = 0 THEN 2 ELSE 1 END AS attempts,
            $4::timestamptz + (g.i * $5::float8 / $3::bigint) * interval '1 second'
                AS created_at
    ) v
    ORDER BY 2
)"""

LOAD = f"""
WITH {ROWS}, notified AS (
    INSERT INTO notifications (
        notification_id, client_id, alert_id, severity, source, name, context, event_ts,
        rule_ids, status, attempts, next_attempt_at, last_error, created_at, updated_at,
        sent_at, kind, episode, firing_id, silence_id, suppression_settled_at
    )
    SELECT id, client_id, '{PREFIX}' || b || '-' || least(j, 8),
        (ARRAY['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'])[1 + b % 4], 'history',
        'disk usage above ' || (80 + j) || ' %',
        jsonb_build_object('host', 'host-' || (i % 5000), 'region', 'eu-' || (b % 3)),
        created_at, ARRAY[md5('r' || client_id)::uuid], status, attempts,
        created_at + interval '30 seconds',
        CASE status WHEN 'FAILED' THEN 'HTTP 503' END,
        created_at, created_at + attempts * interval '2 seconds',
        CASE status WHEN 'SENT' THEN created_at + attempts * interval '2 seconds' END,
        kind, 1, CASE kind WHEN 'resolved' THEN md5('n' || (i - 1))::uuid END,
        CASE status WHEN 'SUPPRESSED' THEN md5('s' || client_id)::uuid END,
        CASE status WHEN 'SUPPRESSED' THEN created_at + interval '1 hour' END
    FROM rows
    RETURNING notification_id
), delivered AS (
    INSERT INTO deliveries (notification_id, endpoint_id, endpoint_type, status, attempts,
        last_error, response_code, created_at, updated_at)
    SELECT id, endpoint_id, 'webhook', status, attempts,
        CASE status WHEN 'FAILED' THEN 'HTTP 503' END,
        CASE status WHEN 'FAILED' THEN 503 ELSE 200 END,
        created_at, created_at + attempts * interval '2 seconds'
    FROM rows WHERE attempts > 0
    RETURNING notification_id
)
INSERT INTO delivery_attempts (notification_id, endpoint_id, attempt, endpoint_type,
    started_at, duration_ms, outcome, response_code, error)
SELECT r.id, r.endpoint_id, a.n, 'webhook', r.created_at + (a.n - 1) * interval '2 seconds',
    20 + (r.i * 7 + a.n) % 180,
    CASE WHEN a.n < r.attempts THEN 'RETRY' ELSE r.status END,
    CASE WHEN a.n < r.attempts OR r.status = 'FAILED' THEN 503 ELSE 200 END,
    CASE WHEN a.n < r.attempts OR r.status = 'FAILED' THEN 'HTTP 503' END
FROM rows r CROSS JOIN LATERAL generate_series(1, r.attempts) AS a(n)
"""
# The notifications fill factor the schema has (None: the default, 100): restored
# after the load (``restore``) so that new rows may take the room the history left.
FILLFACTOR = (
    "SELECT option_value::int FROM pg_class c, pg_options_to_table(c.reloptions)"
    " WHERE c.oid = 'notifications'::regclass AND option_name = 'fillfactor'"
)
RESERVE = f"ALTER TABLE notifications SET (fillfactor = {FILL})"


def restore(fillfactor: int | None) -> str:
    """The statement that gives notifications back the fill factor ``FILLFACTOR`` read."""
    if fillfactor is None:
        return "ALTER TABLE notifications RESET (fillfactor)"
    return f"ALTER TABLE notifications SET (fillfactor = {int(fillfactor)})"


# The three tables' statistics, visibility and free space maps, as autovacuum keeps them
# on a production database (bench servers may run with autovacuum off).
SETTLE = (
    "VACUUM (ANALYZE) notifications",
    "VACUUM (ANALYZE) deliveries",
    "VACUUM (ANALYZE) delivery_attempts",
)


@dataclass(frozen=True)
class Chunk:
    """Rows [lo, hi) of a history of ``total`` rows."""

    lo: int
    hi: int
    total: int


def chunks(total: int, size: int) -> list[Chunk]:
    """The history cut into chunks of at most ``size`` rows, in order."""
    if total < 1 or size < 1:
        raise ValueError("a history needs at least one row and a positive chunk size")
    return [Chunk(lo, min(lo + size, total), total) for lo in range(0, total, size)]


def rows_per_notification() -> dict[str, float]:
    """Rows of each table per notification, from one block of ten (and the 20-block
    cycle of the every-2nd, 4th and 5th rules): what the load writes, for sizing."""
    deliveries = attempts = 0
    blocks = 20
    for b in range(blocks):
        for j in range(10):
            suppressed = j == 6 and b % 5 == 0
            failed = j == 7 and b % 2 == 0
            tries = 0 if suppressed else 4 if failed else 2 if (j == 5 and b % 4 == 0) else 1
            deliveries += tries > 0
            attempts += tries
    n = blocks * 10
    return {"notifications": 1.0, "deliveries": deliveries / n, "delivery_attempts": attempts / n}
