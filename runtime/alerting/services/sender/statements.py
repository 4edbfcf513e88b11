"""The sender's SQL statements (``PostgresSenderStore`` in ``repo.py`` runs them): claim
with a lease, read endpoints, record outcomes and attempts. One statement per batch for
each step (arrays in, rows out), never one round trip per notification.

Every statement's work is O(batch) whatever the size of the tables; the plans they
replaced and the figures are in docs/performance.md, and
tests/integration/test_batch_plans.py holds the plans to it. The comments say why each
statement is shaped the way it is: keep them with the SQL."""

CLAIMABLE = (
    "(status = 'PENDING'"
    " OR (status = 'RETRY' AND next_attempt_at <= now())"
    " OR (status = 'SENDING' AND claim_expires_at < now()))"
)
# The poller's PENDING rows are only the safety net: ones whose ready message never came
# (the aggregator sets next_attempt_at 30 s ahead). Each branch uses a partial index.
DUE = (
    "((status IN ('PENDING', 'RETRY') AND next_attempt_at <= now())"
    " OR (status = 'SENDING' AND claim_expires_at < now()))"
)
# A resolved notification waits for its firing one to be final (SENT or FAILED, or gone
# with its purged client): its targets are the endpoints that firing delivery reached,
# and no endpoint may hear of the recovery before the incident. A firing row pays one
# comparison (the OR stops there); a resolved one probes its firing row by primary key.
# A scalar subquery, not EXISTS: Postgres may turn an EXISTS under an OR into a hashed
# subplan, built from every unfinished notification, the whole backlog.
FIRING_FINAL = (
    "(c.kind = 'firing' OR coalesce((SELECT f.status IN ('SENT', 'FAILED')"
    " FROM notifications f WHERE f.notification_id = c.firing_id), true))"
)
# How long a resolved row the poller found waiting for its firing row is put off: it is
# woken by that row's FINISH anyway, so this only bounds how often a poll reads it again.
RESOLVED_RECHECK = "interval '5 minutes'"
# The firing row of a resolved row about to be put off, read again with a lock: a lock
# reads the row's newest committed version, where the statement's snapshot may hold an
# older one. Without it, a FINISH committing after the snapshot (its wake-up left this
# row alone: already due) would be undone by the put-off, 5 minutes lost. A firing row
# being written right now (locked) reads NULL: this row is left due rather than waited
# for (SKIP LOCKED: that writer's wake-up may be waiting for this statement's own lock).
# Only rows being put off pay for it, never a claim.
STILL_WAITING = (
    "NOT coalesce((SELECT f.status IN ('SENT', 'FAILED') FROM notifications f"
    " WHERE f.notification_id = n.firing_id FOR SHARE SKIP LOCKED), true)"
)
# SKIP LOCKED: a row another sender is locking right now is that sender's to claim, and
# two claimers never wait on (or deadlock over) each other's rows. The CTE locks the
# rows and reads the status they had, so a takeover of an expired claim is visible.
# The UPDATE takes the locked rows by ctid (a TID scan): no join back by id to plan.
# A due resolved row whose firing row is not final yet (a firing row re-driven, or one
# retrying past the aggregator's safety-net time, as rate-limit deferrals can make it)
# is not claimed but put off (an expired claim of one given up, and its attempt given
# back: it delivered nothing): filtered out instead, every poll would read all such
# rows again before finding claimable ones.
CLAIM_DUE = f"""
WITH picked AS (
    SELECT ctid, status, NOT {FIRING_FINAL} AS waits FROM notifications c
    WHERE {DUE} LIMIT $3
    FOR UPDATE SKIP LOCKED
), put_off AS (
    UPDATE notifications n
    SET next_attempt_at = now() + {RESOLVED_RECHECK},
        status = CASE WHEN n.status = 'SENDING' THEN 'RETRY' ELSE n.status END,
        attempts = CASE WHEN n.status = 'SENDING' THEN greatest(n.attempts - 1, 0)
            ELSE n.attempts END,
        claimed_by = NULL, claim_expires_at = NULL, updated_at = now()
    WHERE n.ctid = ANY(ARRAY(SELECT ctid FROM picked WHERE waits)) AND {STILL_WAITING}
)
UPDATE notifications n
SET status = 'SENDING', claimed_by = $1, claim_expires_at = now() + make_interval(secs => $2),
    attempts = n.attempts + 1, updated_at = now()
FROM picked
WHERE n.ctid = picked.ctid AND NOT picked.waits
RETURNING n.notification_id::text, n.client_id, n.alert_id, n.severity, n.source, n.name,
    n.context, extract(epoch FROM n.event_ts)::bigint AS event_ts, n.rule_ids::text[],
    n.attempts, n.claim_expires_at, n.kind, n.episode, picked.status AS previous_status
"""
# A ready batch names its rows: each id is one primary-key probe (LATERAL), and the
# UPDATE takes the locked rows by an array of ctids (a TID scan, no join to plan), so a
# claim costs the same however large the PENDING backlog is.
CLAIM_READY = f"""
WITH picked AS (
    SELECT ids.id, n.ctid, n.status FROM unnest($3::uuid[]) AS ids(id)
    CROSS JOIN LATERAL (
        SELECT ctid, status FROM notifications c
        WHERE notification_id = ids.id AND {CLAIMABLE} AND {FIRING_FINAL}
        FOR UPDATE SKIP LOCKED
    ) n
), claimed AS (
    UPDATE notifications n
    SET status = 'SENDING', claimed_by = $1,
        claim_expires_at = now() + make_interval(secs => $2),
        attempts = n.attempts + 1, updated_at = now()
    WHERE n.ctid = ANY(ARRAY(SELECT ctid FROM picked))
    RETURNING n.notification_id, n.client_id, n.alert_id, n.severity, n.source, n.name,
        n.context, n.event_ts, n.rule_ids, n.attempts, n.claim_expires_at, n.kind, n.episode
)
SELECT c.notification_id::text, c.client_id, c.alert_id, c.severity, c.source, c.name,
    c.context, extract(epoch FROM c.event_ts)::bigint AS event_ts, c.rule_ids::text[],
    c.attempts, c.claim_expires_at, c.kind, c.episode, p.status AS previous_status
FROM claimed c JOIN picked p ON p.id = c.notification_id
"""

# Only endpoints of rules of the notification's own client: rule_ids come from Kafka,
# and a wrong id must never route one tenant's alert to another tenant's endpoint.
# A resolved notification (firing_id set) goes only to those that want resolved messages
# and whose delivery of its firing notification is SENT: never to an endpoint that did
# not hear of the incident. One primary-key probe of deliveries per such endpoint (a
# scalar subquery, never hashed over the whole table as an EXISTS under an OR may be).
# Each notification is probed by id, and its endpoints and prior deliveries are looked
# up by index in a LATERAL subquery (OFFSET 0 keeps the planner from flattening it into
# joins over whole tables): the work follows the batch, not the tables' sizes.
# The rule (already joined for its client) gives its grouping policy: a grouped
# endpoint joins a group instead of being called; a GROUPED prior waits for its digest.
# The rule is probed by key per endpoint found (LATERAL, OFFSET 0): joined, it was read
# through rules_client_idx, every rule of the client once per notification.
ENDPOINTS = """
SELECT x.notification_id::text, e.endpoint_id::text, e.type, e.value, e.signing_secret,
    e.prior_status, e.prior_error, e.previous_secret, e.templates, e.rate_per_s, e.rate_burst,
    e.rule_id::text, e.grouping
FROM unnest($1::uuid[]) AS ids(id)
CROSS JOIN LATERAL (
    SELECT notification_id, client_id, rule_ids, firing_id FROM notifications
    WHERE notification_id = ids.id
    OFFSET 0
) x
CROSS JOIN LATERAL (
    SELECT e.endpoint_id, e.type, e.value, e.signing_secret, e.created_at,
        d.status AS prior_status, d.last_error AS prior_error,
        CASE WHEN e.previous_secret_expires_at > now()
            THEN e.previous_signing_secret END AS previous_secret,
        e.templates, e.rate_per_s, e.rate_burst, e.rule_id, r.grouping
    FROM endpoints e
    CROSS JOIN LATERAL (
        SELECT grouping FROM rules r WHERE r.rule_id = e.rule_id AND r.client_id = x.client_id
        OFFSET 0
    ) r
    LEFT JOIN deliveries d
        ON d.notification_id = x.notification_id AND d.endpoint_id = e.endpoint_id
    WHERE e.rule_id = ANY(x.rule_ids) AND e.enabled
        AND (x.firing_id IS NULL OR (e.send_resolved AND coalesce((
            SELECT fd.status = 'SENT' FROM deliveries fd
            WHERE fd.notification_id = x.firing_id AND fd.endpoint_id = e.endpoint_id
        ), false)))
    OFFSET 0
) e
ORDER BY x.notification_id, e.created_at, e.endpoint_id
"""

# A SENT delivery is never downgraded: a slow sender whose lease was taken over may
# report late, and the endpoint must not be called again because of it. Nor is a GROUPED
# one overwritten by a late ungrouped result (a policy added between two claims): its
# group's digest delivers it, and the flusher records how that went.
# Only rows of notifications that still exist are written: a deleted client's are purged
# while its last claims may be in flight (rule_service/purger.py), and a delivery row
# for one would fail the foreign key and the whole outcome write with it. The
# notification is key-share locked first (the lock the foreign-key check takes anyway),
# so a purge cannot delete it between this check and the insert: the purge skips locked
# rows and takes them in a later batch, cascading to the rows written here.
# A receiver that answered 410 Gone ($7: the reason, else NULL) has its endpoint disabled
# by a CTE of the same statement: no round trip added per attempt, and the disable
# commits with the delivery row that explains it. An endpoint already disabled keeps
# its first reason; the endpoints come from ENDPOINTS (the notification's own client).
# The gone ids are probed by primary key (= ANY of an array): joined to the arrays
# directly, a batch of a hundred rows was planned as a hash join over every endpoint.
# Every call is logged in delivery_attempts by the statement's last step, from the rows
# the upsert returns (RETURNING gives the attempt number: the deliveries row's attempts
# after this call) joined back to the batch's arrays by (notification, endpoint): no
# round trip added. A call reported over a SENT delivery (a late sender whose claim was
# taken over) changes no deliveries row, so it is not logged either. DO NOTHING: a log
# row must never fail the outcome write it rides on.
GONE = "SELECT i FROM unnest($2::uuid[], $7::text[]) AS r(i, why) WHERE why IS NOT NULL"
RECORD_DELIVERIES = f"""
WITH gone AS (
    UPDATE endpoints e
    SET enabled = false, disabled_reason = g.reason, disabled_at = now(), updated_at = now()
    FROM unnest($2::uuid[], $7::text[]) AS g(endpoint_id, reason)
    WHERE e.endpoint_id = ANY(ARRAY({GONE})) AND e.endpoint_id = g.endpoint_id
        AND g.reason IS NOT NULL AND e.enabled
), recorded AS (
    INSERT INTO deliveries AS d (notification_id, endpoint_id, endpoint_type, status,
        attempts, last_error, response_code)
    SELECT x.n, x.e, x.t, x.s, 1, x.err, x.code
    FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::int[])
        AS x(n, e, t, s, err, code)
    CROSS JOIN LATERAL (
        SELECT 1 FROM notifications WHERE notification_id = x.n FOR KEY SHARE
    ) alive
    ON CONFLICT (notification_id, endpoint_id) DO UPDATE
    SET status = EXCLUDED.status, attempts = d.attempts + 1,
        last_error = EXCLUDED.last_error, response_code = EXCLUDED.response_code,
        updated_at = now()
    WHERE d.status NOT IN ('SENT', 'GROUPED')
    RETURNING d.notification_id, d.endpoint_id, d.attempts
)
INSERT INTO delivery_attempts (notification_id, endpoint_id, attempt, endpoint_type,
    started_at, duration_ms, outcome, response_code, error, response_excerpt)
SELECT r.notification_id, r.endpoint_id, r.attempts, x.t, to_timestamp(x.started), x.ms,
    x.s, x.code, x.err, x.excerpt
FROM recorded r
JOIN unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::int[],
    $8::float8[], $9::int[], $10::text[]) AS x(n, e, t, s, err, code, started, ms, excerpt)
    ON x.n = r.notification_id AND x.e = r.endpoint_id
ON CONFLICT DO NOTHING
"""

# An outcome is written in two statements of one transaction. HELD locks the rows this
# very claim still holds (claimer and lease expiry both match: a claim that expired and
# was taken over belongs to its new owner). Each id is one primary-key probe, the claim
# conditions outside it: the lease index must not be the way in, as one claim gives a
# whole batch the same expiry. FINISH then updates the locked rows by ctid. Both stay
# O(batch) however many claims are in flight.
# Two statements, not one: a lock that waited for another transaction returns the row's
# newest version, which the claim conditions are checked on, but a later part of the
# same statement would look its ctid up in the statement's older snapshot and silently
# miss it. FINISH's fresh snapshot sees it, and the lock keeps the ctid valid.
# The lock is the one an UPDATE takes anyway (NO KEY UPDATE): FOR UPDATE would also wait
# for the key-share locks of other senders' deliveries INSERTs (their foreign-key checks)
# on a taken-over row.
# A finish whose row is gone (NULL ctid: its client was deleted and purged while it was
# in flight) has nothing left to write and no other claimer to hand over to: it is
# settled, not lost.
HELD = """
SELECT x.i, n.ctid,
    coalesce(n.status = 'SENDING' AND n.claimed_by = $1 AND n.claim_expires_at = x.lease,
        false) AS held
FROM unnest($2::uuid[], $3::timestamptz[]) WITH ORDINALITY AS x(id, lease, i)
LEFT JOIN LATERAL (
    SELECT ctid, status, claimed_by, claim_expires_at FROM notifications
    WHERE notification_id = x.id
    FOR NO KEY UPDATE
) n ON true
"""
# It returns the ids it wrote: the worker counts (and logs) only outcomes written.
# A firing row that becomes final wakes its episode's resolved row, which waited for it
# (the claims above skip it until then; the aggregator set it due minutes ahead, as a
# safety net): due now, so the next poll delivers it. FINISH only says which of its
# rows have one (`wakes`: one probe of notifications_firing_idx per firing row becoming
# final, a scalar subquery, never hashed over the whole table); WAKE_RESOLVED, run after
# it in the same transaction and only when one has, wakes them. Most batches have none
# (a resolution usually comes long after its incident was delivered), so they pay no
# second statement; and the wake-up's snapshot is then no older than FINISH's own.
# The wake-up was a CTE of FINISH before: under statistics taken while the backlog was
# small, the planner read its rows through notifications_due_idx, every PENDING row
# (each due 30 s ahead, the safety net) once per batch.
FINISH = """
UPDATE notifications n
SET status = x.status,
    attempts = n.attempts - x.refund,
    next_attempt_at = CASE x.status
        WHEN 'RETRY' THEN now() + x.delay_ms * interval '1 millisecond'
        WHEN 'GROUPED' THEN NULL ELSE n.next_attempt_at END,
    last_error = x.error,
    sent_at = CASE WHEN x.status = 'SENT' THEN now() ELSE n.sent_at END,
    claimed_by = NULL, claim_expires_at = NULL, updated_at = now()
FROM unnest($1::tid[], $2::text[], $3::bigint[], $4::text[], $5::int[])
    AS x(row, status, delay_ms, error, refund)
WHERE n.ctid = ANY($1::tid[]) AND n.ctid = x.row
RETURNING n.notification_id::text,
    n.kind = 'firing' AND x.status IN ('SENT', 'FAILED') AND coalesce((
        SELECT true FROM notifications r WHERE r.firing_id = n.notification_id LIMIT 1
    ), false) AS wakes
"""
# The resolved rows of the firing rows $1 that still wait: due now. They are found
# through notifications_firing_idx alone (OFFSET 0 keeps the status and due time out of
# that scan: there they would again offer the planner notifications_due_idx) and
# updated by primary key. A row found waiting is PENDING or RETRY: it cannot be claimed
# before its firing row is final, which no other transaction sees before the caller
# commits. A poll may put it off meanwhile (still waiting: this makes it due, as it
# should); the CASE re-checks the row's newest version all the same, so a row that no
# longer waits is never made due. Settled ones (a re-driven firing row's earlier
# resolved row) are neither locked nor written. FINALISE (group_statements.py) wakes
# the rows of the firing rows it settles with the same WAKE_WAITING.
WAKE_WAITING = """
UPDATE notifications r
SET next_attempt_at = CASE WHEN r.status IN ('PENDING', 'RETRY')
        THEN least(r.next_attempt_at, now()) ELSE r.next_attempt_at END,
    updated_at = CASE WHEN r.status IN ('PENDING', 'RETRY') AND r.next_attempt_at > now()
        THEN now() ELSE r.updated_at END
WHERE r.notification_id = ANY(ARRAY(
    SELECT w.notification_id FROM (
        SELECT notification_id, status, next_attempt_at FROM notifications
        WHERE firing_id = ANY({firing})
        OFFSET 0
    ) w
    WHERE w.status IN ('PENDING', 'RETRY') AND w.next_attempt_at > now()
))
"""
WAKE_RESOLVED = WAKE_WAITING.format(firing="$1::uuid[]")

# A grouped batch's joins, one statement (run only for a batch with grouped endpoints:
# the ungrouped path pays nothing). Each group key of the batch is upserted once
# (DISTINCT ON: ON CONFLICT cannot touch one row twice in a statement), in key order, so
# two senders joining the same groups lock them in the same order and never deadlock.
# A new group is due group_wait_s from now. An open one keeps its due time while it has
# never flushed (the first digest waits group_wait_s from the first member, not the
# last); after a flush, a member makes it due at the last flush + group_interval_s, or
# now if that has passed, or sooner if a repeat was due sooner (never later than it was
# due). The timers are refreshed from the rule's policy as it stands now.
# Then each member's deliveries row becomes GROUPED, naming its group and no digest yet
# (the flusher picks it up). As in RECORD_DELIVERIES, only rows of notifications that
# still exist (key-share locked against a purge), and a SENT row is never downgraded;
# neither is a GROUPED one moved to another group (a late sender whose claim was taken
# over: it is the new owner's join that stands). No attempt-log row: nothing was called.
# The caller runs it after HELD, for the held claims' joins only: a late sender's joins
# would otherwise commit beside its lost outcome.
# A group is opened only for a client that still exists, key-share locked like `alive`
# (the lock the foreign-key check takes anyway): a client deleted while its notifications
# are in flight would make the upsert fail its foreign key, and with it the whole
# batch's outcome write, every other tenant's receivers then called again. Its members'
# joins are dropped (no group row to name); the purge removes those notifications.
JOIN_GROUPS = """
WITH batch AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::uuid[],
        $6::text[], $7::text[], $8::text[], $9::int[], $10::int[], $11::int[])
        AS j(n, e, t, client_id, rule_id, kind, labels, group_key, wait_s, interval_s,
            repeat_s)
), grouped AS (
    INSERT INTO notification_groups AS g (group_id, client_id, rule_id, endpoint_id, kind,
        labels, group_key, key_hash, group_wait_s, group_interval_s, repeat_interval_s,
        due_at)
    SELECT DISTINCT ON (b.e, b.kind, b.group_key) uuid_v7(), b.client_id, b.rule_id, b.e,
        b.kind, b.labels::jsonb, b.group_key,
        encode(sha256(convert_to(b.group_key, 'UTF8')), 'hex'), b.wait_s, b.interval_s,
        b.repeat_s,
        now() + make_interval(secs => b.wait_s)
    FROM batch b
    CROSS JOIN LATERAL (
        SELECT 1 FROM clients c WHERE c.client_id = b.client_id FOR KEY SHARE
    ) owner
    ORDER BY b.e, b.kind, b.group_key
    ON CONFLICT (endpoint_id, kind, key_hash) WHERE closed_at IS NULL DO UPDATE
    SET due_at = CASE WHEN g.last_flushed_at IS NULL
            THEN coalesce(g.due_at, now() + make_interval(secs => EXCLUDED.group_wait_s))
            ELSE least(coalesce(g.due_at, 'infinity'), greatest(
                g.last_flushed_at + make_interval(secs => EXCLUDED.group_interval_s), now()))
            END,
        group_wait_s = EXCLUDED.group_wait_s, group_interval_s = EXCLUDED.group_interval_s,
        repeat_interval_s = EXCLUDED.repeat_interval_s, updated_at = now()
    RETURNING g.group_id, g.endpoint_id, g.kind, g.group_key
)
INSERT INTO deliveries AS d (notification_id, endpoint_id, endpoint_type, status,
    attempts, group_id)
SELECT b.n, b.e, b.t, 'GROUPED', 0, g.group_id
FROM batch b
JOIN grouped g ON g.endpoint_id = b.e AND g.kind = b.kind AND g.group_key = b.group_key
CROSS JOIN LATERAL (
    SELECT 1 FROM notifications WHERE notification_id = b.n FOR KEY SHARE
) alive
ORDER BY b.n, b.e
ON CONFLICT (notification_id, endpoint_id) DO UPDATE
SET status = 'GROUPED', group_id = EXCLUDED.group_id, digest_id = NULL, last_error = NULL,
    response_code = NULL, updated_at = now()
WHERE d.status NOT IN ('SENT', 'GROUPED')
"""
