"""The group flusher's SQL statements (``PostgresGroupStore`` in ``group_repo.py`` runs
them): claim due groups with a lease, fix each one's digest, write its outcome. Each is
one statement per batch of groups (arrays in, rows out); a digest's members are arrays
too, so the work is O(groups + members), never a round trip per member."""

from alerting.services.sender.statements import WAKE_WAITING

# A member still fires while its episode has no resolved notification: one probe of
# notifications_firing_idx per delivered member.
STILL_FIRING = "NOT EXISTS (SELECT 1 FROM notifications r WHERE r.firing_id = d.notification_id)"

# SKIP LOCKED and the lease: a group another flusher is claiming right now, or holds
# with a live lease, is left to it, so two flushers never send one group twice. A
# released claim is NULL, so a claimed_by still set is an expired claim: a takeover.
# `due_at <= now()` implies due_at IS NOT NULL: notification_groups_due_idx serves the
# ORDER BY. The rule's current policy comes back to refresh the group's timers (a rule
# of another client never: the rule is read by its id and the group's client).
# The claim locks in due order, not in JOIN_GROUPS' key order: SKIP LOCKED never waits
# for a group, so it cannot close a cycle over two groups with a sender. Candidates
# picked by due order and then locked in key order would have concurrent flushers pick
# the same candidates and skip each other's: half-empty batches
# (test_two_flushers_polling_at_once_send_each_group_once).
# A claim that makes digests waits for its commit to be flushed, though the sender's
# connections do not (postgres.ASYNC_COMMIT_SETTINGS): a digest's id and members must
# survive a Postgres crash once it may have been sent, or the same members would go out
# again under a new id and the same sequence number, past a receiver's de-duplication.
# Only this transaction, once per group claim, pays the flush.
FLUSHED_COMMIT = "SET LOCAL synchronous_commit = on"
CLAIM_GROUPS = """
WITH picked AS (
    SELECT ctid, claimed_by IS NOT NULL AS taken_over FROM notification_groups
    WHERE closed_at IS NULL AND due_at <= now()
        AND (claim_expires_at IS NULL OR claim_expires_at < now())
    ORDER BY due_at LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE notification_groups g
SET claimed_by = $1, claim_expires_at = now() + make_interval(secs => $2), updated_at = now()
FROM picked
WHERE g.ctid = picked.ctid
RETURNING g.group_id::text, g.client_id, g.endpoint_id::text, g.kind, g.labels,
    g.group_wait_s, g.group_interval_s, g.repeat_interval_s, g.last_flushed_at,
    g.claim_expires_at, picked.taken_over, now() AS now,
    (SELECT r.grouping FROM rules r
        WHERE r.rule_id = g.rule_id AND r.client_id = g.client_id) AS grouping
"""

# The groups' endpoints, only through a rule of the group's own client; an id not found
# is a deleted endpoint. Columns as statements.ENDPOINTS reads them.
ENDPOINTS = """
SELECT x.endpoint_id::text, e.type, e.value, e.enabled, e.signing_secret,
    CASE WHEN e.previous_secret_expires_at > now()
        THEN e.previous_signing_secret END AS previous_secret,
    e.templates, e.rate_per_s, e.rate_burst
FROM unnest($1::uuid[], $2::text[]) AS x(endpoint_id, client_id)
JOIN endpoints e ON e.endpoint_id = x.endpoint_id
JOIN rules r ON r.rule_id = e.rule_id AND r.client_id = x.client_id
"""

# The digest of an earlier try that is not final yet: resent as it is (same id, same
# members). A RETRY not due yet tells when the group is.
UNSENT = """
SELECT DISTINCT ON (group_id) group_id::text, digest_id::text, seq, is_repeat,
    notification_ids::text[], attempts, status,
    status = 'SENDING' OR next_attempt_at <= now() AS due, next_attempt_at
FROM notification_digests
WHERE group_id = ANY($1::uuid[]) AND status IN ('SENDING', 'RETRY')
ORDER BY group_id, seq
"""

# The unsent digests about to be sent again ($1) are SENDING while they are: a RETRY
# digest too, so that a flusher dying during this try leaves it SENDING for the next
# claimer to count. Those ($2) still SENDING under an expired claim were being
# delivered by a flusher that crashed, stalled or could not write the outcome: that call
# counts as a try, so a digest that kills its senders is given up after
# ALERTING_SENDER_MAX_ATTEMPTS claims (the flusher fails it without a call) instead of
# looping for ever.
RESENDING = """
UPDATE notification_digests
SET status = 'SENDING', attempts = attempts + (digest_id = ANY($2::uuid[]))::int,
    updated_at = now()
WHERE digest_id = ANY($1::uuid[])
"""

# A new digest per group of its waiting members (at most $3, by notification id: the
# rest go in the next one), and the members marked with it, in one statement.
# `marked` checks the row again: `waiting` read the statement's snapshot, the UPDATE
# locks the newest version, which another writer may have changed meanwhile (made final,
# or marked). A member whose row moved on is left unmarked: MEMBER_OUTCOMES then writes
# nothing over it.
NEW_DIGESTS = """
WITH waiting AS (
    SELECT g.group_id, g.endpoint_id, w.ids
    FROM unnest($1::uuid[], $2::uuid[]) AS g(group_id, endpoint_id)
    CROSS JOIN LATERAL (
        SELECT array_agg(m.notification_id ORDER BY m.notification_id) AS ids FROM (
            SELECT d.notification_id FROM deliveries d
            WHERE d.group_id = g.group_id AND d.digest_id IS NULL AND d.status = 'GROUPED'
            ORDER BY d.notification_id LIMIT $3
        ) m
    ) w
    WHERE w.ids IS NOT NULL
), made AS (
    INSERT INTO notification_digests (digest_id, group_id, seq, notification_ids, members)
    SELECT uuid_v7(), w.group_id, coalesce((SELECT max(x.seq) FROM notification_digests x
        WHERE x.group_id = w.group_id), 0) + 1, w.ids, cardinality(w.ids)
    FROM waiting w
    RETURNING digest_id, group_id, seq, notification_ids
), marked AS (
    UPDATE deliveries d SET digest_id = m.digest_id, updated_at = now()
    FROM made m JOIN waiting w ON w.group_id = m.group_id, unnest(m.notification_ids) AS n(id)
    WHERE d.notification_id = n.id AND d.endpoint_id = w.endpoint_id
        AND d.status = 'GROUPED' AND d.digest_id IS NULL
)
SELECT group_id::text, digest_id::text, seq, notification_ids::text[] FROM made
"""

# A repeat digest of the members still firing, per group whose repeat_interval_s has
# passed (the caller picks those). It changes no deliveries: they were delivered.
REPEAT_DIGESTS = f"""
WITH firing AS (
    SELECT g.group_id, f.ids FROM unnest($1::uuid[]) AS g(group_id)
    CROSS JOIN LATERAL (
        SELECT array_agg(m.notification_id ORDER BY m.notification_id) AS ids FROM (
            SELECT d.notification_id FROM deliveries d
            WHERE d.group_id = g.group_id AND d.status = 'SENT' AND {STILL_FIRING}
            ORDER BY d.notification_id LIMIT $2
        ) m
    ) f
    WHERE f.ids IS NOT NULL
)
INSERT INTO notification_digests (digest_id, group_id, seq, is_repeat, notification_ids,
    members)
SELECT uuid_v7(), f.group_id, coalesce((SELECT max(x.seq) FROM notification_digests x
    WHERE x.group_id = f.group_id), 0) + 1, true, f.ids, cardinality(f.ids)
FROM firing f
RETURNING group_id::text, digest_id::text, seq, notification_ids::text[]
"""

# What decides a group's next due time: members waiting, and delivered members still
# firing (domain.grouping.next_flush_s). still_firing is the open firing group's of the
# same (endpoint, group key): the group itself when firing (a claimed group is open), the
# firing one beside it when resolved, so a resolved digest tells whether it leaves any
# of its key firing (Digest.still_firing: PagerDuty resolves the incident at 0). Its
# members' own episodes are resolved by then (their resolved rows exist), so they are
# counted out already. No open firing group: nothing fires (one closes only once none
# does). One probe of notification_groups_open_key per group (on key_hash, what the
# index holds; the text's equality as well, so even a collision could not pair them).
STATE = f"""
SELECT g.group_id::text,
    EXISTS (SELECT 1 FROM deliveries d WHERE d.group_id = g.group_id AND d.digest_id IS NULL
        AND d.status = 'GROUPED') AS pending,
    (SELECT count(*) FROM deliveries d WHERE d.group_id = f.group_id AND d.status = 'SENT'
        AND {STILL_FIRING})::int AS still_firing
FROM notification_groups g
LEFT JOIN notification_groups f ON f.endpoint_id = g.endpoint_id AND f.kind = 'firing'
    AND f.key_hash = g.key_hash AND f.group_key = g.group_key
    AND f.closed_at IS NULL
WHERE g.group_id = ANY($1::uuid[])
"""

# The digests' members, as the channels render them.
MEMBERS = """
SELECT notification_id::text, client_id, alert_id, severity, source, name, context,
    extract(epoch FROM event_ts)::bigint AS event_ts, rule_ids::text[], attempts, kind, episode
FROM notifications WHERE notification_id = ANY($1::uuid[])
"""

# A group's claim ends here: its next due time (NULL: it closes, freeing its key for the
# next member), the rule's current timers, the flush counted when one happened.
SETTLE = """
UPDATE notification_groups g
SET due_at = x.due, closed_at = CASE WHEN x.due IS NULL THEN now() END,
    last_flushed_at = CASE WHEN x.flushed THEN now() ELSE g.last_flushed_at END,
    flushes = g.flushes + x.flushed::int,
    group_wait_s = x.w, group_interval_s = x.i, repeat_interval_s = x.r,
    claimed_by = NULL, claim_expires_at = NULL, updated_at = now()
FROM unnest($1::uuid[], $2::timestamptz[], $3::boolean[], $4::int[], $5::int[], $6::int[])
    AS x(id, due, flushed, w, i, r)
WHERE g.group_id = x.id
"""

# An outcome is written only by the claim that still holds its group (claimer and lease
# expiry both match, like statements.HELD); the lock keeps a takeover out until commit.
# now() is the transaction's: the due times computed from it match the SQL's.
# Groups are locked in (endpoint_id, kind, group_key) order, as JOIN_GROUPS locks them
# (a group's key never changes, so the snapshot's order is the locked rows' order): a
# sender and a flusher never deadlock over two groups. What remains is the sender
# locking a notification then its groups (HELD, then JOIN_GROUPS) while a flusher locks
# its groups then their members' notifications (LOCK_MEMBERS): Postgres's deadlock
# detector rolls one back, and both writers try their outcome again (ROLLED_BACK).
# The caller maps the rows by group id (the join does not keep the array's order).
HELD = """
SELECT x.id::text AS group_id, now() AS now,
    coalesce(g.claimed_by = $1 AND g.claim_expires_at = x.lease, false) AS held
FROM unnest($2::uuid[], $3::timestamptz[]) AS x(id, lease)
LEFT JOIN (
    SELECT group_id, claimed_by, claim_expires_at FROM notification_groups
    WHERE group_id = ANY($2::uuid[])
    ORDER BY endpoint_id, kind, group_key
    FOR NO KEY UPDATE
) g ON g.group_id = x.id
"""

DIGEST_OUTCOMES = """
UPDATE notification_digests g
SET status = x.status, attempts = g.attempts + 1, last_error = x.err, response_code = x.code,
    next_attempt_at = CASE WHEN x.status = 'RETRY'
        THEN now() + x.delay_ms * interval '1 millisecond' END,
    sent_at = CASE WHEN x.status = 'SENT' THEN now() ELSE g.sent_at END, updated_at = now()
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::bigint[])
    AS x(id, status, err, code, delay_ms)
WHERE g.digest_id = x.id
RETURNING g.digest_id::text, g.next_attempt_at
"""

# The members' deliveries (the group's endpoint) follow their digest: SENT or FAILED,
# or still GROUPED for a retry, each try counted and logged in the attempt log with the
# digest's id (attempt: the row's attempts after). Only rows still GROUPED under this
# digest: a late writer never rewrites a final row. No attempt logged where nothing was
# called ($9 NULL: an unreachable endpoint).
MEMBER_OUTCOMES = """
WITH recorded AS (
    UPDATE deliveries d
    SET status = x.s, attempts = d.attempts + 1, last_error = x.err, response_code = x.code,
        updated_at = now()
    FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::int[])
        AS x(n, e, dg, s, err, code)
    WHERE d.notification_id = x.n AND d.endpoint_id = x.e AND d.digest_id = x.dg
        AND d.status = 'GROUPED'
    RETURNING d.notification_id, d.endpoint_id, d.attempts, d.endpoint_type, d.digest_id
)
INSERT INTO delivery_attempts (notification_id, endpoint_id, attempt, endpoint_type,
    started_at, duration_ms, outcome, response_code, error, response_excerpt, digest_id)
SELECT r.notification_id, r.endpoint_id, r.attempts, r.endpoint_type, to_timestamp(x.started),
    x.ms, x.outcome, x.code, left(x.err, 1024), x.excerpt, r.digest_id
FROM recorded r
JOIN unnest($1::uuid[], $2::uuid[], $5::text[], $6::int[], $7::float8[], $8::int[],
    $9::text[], $10::text[]) AS x(n, e, err, code, started, ms, outcome, excerpt)
    ON x.n = r.notification_id AND x.e = r.endpoint_id
WHERE x.outcome IS NOT NULL
ON CONFLICT DO NOTHING
"""

# The members of a batch's final digests locked, in id order, a statement before their
# deliveries are written. Two writers finishing one notification (two flushers of two
# groups it is in, or a flusher and the sender finishing a claim as GROUPED) are then
# serialised on it, so the second's FINALISE, a statement of its own with a snapshot
# taken after the lock, sees the first's commit: without the lock each would see the
# other's delivery still GROUPED and neither would settle it (write skew).
LOCK_MEMBERS = """
SELECT 1 FROM notifications WHERE notification_id = ANY($1::uuid[])
ORDER BY notification_id
FOR NO KEY UPDATE
"""

# A GROUPED notification is settled once none of its deliveries is GROUPED. The sender's
# FINISH wrote the verdict on its ungrouped endpoints into last_error (NULL: all sent;
# else the permanent failures, or "gave up after N attempts: ..."), so the rows of the
# ungrouped endpoints are not read: a stale RETRY row of an endpoint disabled since does
# not fail it (as an ungrouped notification it would have ended SENT). It is FAILED when
# last_error is set or a delivery of the grouped path (group_id set) failed, with both
# reasons, a grouped failure the sender's verdict already names (a prior FAILED row) not
# repeated; else SENT. A firing one wakes its resolved row (statements.WAKE_WAITING, as
# the sender's WAKE_RESOLVED does). Run by the flusher for its members, by the sender for its
# claims finishing GROUPED (after FINISH) and by the flusher's sweep (STRANDED): the
# caller holds the notifications' locks.
FINALISE = f"""
WITH final AS (
    SELECT n.notification_id, n.kind, nullif(concat_ws('; ', n.last_error,
        string_agg(d.endpoint_type || ' ' || d.endpoint_id || ': '
            || coalesce(d.last_error, 'failed'), '; ' ORDER BY d.endpoint_id)
            FILTER (WHERE d.status = 'FAILED' AND d.group_id IS NOT NULL
                AND strpos(coalesce(n.last_error, ''), d.endpoint_id::text) = 0)), '') AS error
    FROM notifications n LEFT JOIN deliveries d ON d.notification_id = n.notification_id
    WHERE n.notification_id = ANY($1::uuid[]) AND n.status = 'GROUPED'
    GROUP BY n.notification_id, n.kind
    HAVING NOT coalesce(bool_or(d.status = 'GROUPED'), false)
), done AS (
    UPDATE notifications n
    SET status = CASE WHEN f.error IS NULL THEN 'SENT' ELSE 'FAILED' END,
        last_error = left(f.error, 2000),
        sent_at = CASE WHEN f.error IS NULL THEN now() ELSE n.sent_at END,
        claimed_by = NULL, claim_expires_at = NULL, updated_at = now()
    FROM final f
    WHERE n.notification_id = f.notification_id
    RETURNING n.notification_id, n.kind
)
{WAKE_WAITING.format(firing="ARRAY(SELECT notification_id FROM done WHERE kind = 'firing')")}
"""

# The flusher's safety net: GROUPED notifications left with no GROUPED delivery (a writer
# that died between two statements of another design, a delivery row removed with its
# endpoint...), untouched for a minute. GROUPED is the steady state of every member
# waiting for its digest (a storm behind a receiver that is down: hundreds of thousands),
# so a sweep reads a bounded stretch of them, in keyset order from the cursor ($2, $3),
# and the next sweep the stretch after (the store wraps around at the end), never all of
# them: notifications_grouped_idx holds only GROUPED rows, in this order. Each row read is
# probed by primary key and locked, for FINALISE, if it has no GROUPED delivery (one
# probe of the deliveries' primary key). SKIP LOCKED: a row a writer holds is that
# writer's to settle, and the sweep never waits, so its order cannot deadlock.
STRANDED = """
WITH scanned AS (
    SELECT n.notification_id, n.updated_at FROM notifications n
    WHERE n.status = 'GROUPED' AND n.updated_at < now() - interval '1 minute'
        AND (n.updated_at, n.notification_id) > ($2::timestamptz, $3::uuid)
    ORDER BY n.updated_at, n.notification_id LIMIT $1
)
SELECT s.notification_id::text, s.updated_at, locked.id IS NOT NULL AS stranded
FROM scanned s
LEFT JOIN LATERAL (
    SELECT n.notification_id AS id FROM notifications n
    WHERE n.notification_id = s.notification_id AND n.status = 'GROUPED'
        AND NOT EXISTS (SELECT 1 FROM deliveries d
            WHERE d.notification_id = n.notification_id AND d.status = 'GROUPED')
    FOR NO KEY UPDATE SKIP LOCKED
) locked ON true
ORDER BY s.updated_at, s.notification_id
"""

# A receiver that answered 410 Gone has its endpoint disabled with the outcome that
# explains it (as statements.RECORD_DELIVERIES does); one already disabled keeps its
# first reason. The endpoint ids come from the claim (a rule of the group's client).
DISABLE_GONE = """
UPDATE endpoints e
SET enabled = false, disabled_reason = x.reason, disabled_at = now(), updated_at = now()
FROM unnest($1::uuid[], $2::text[]) AS x(id, reason)
WHERE e.endpoint_id = x.id AND e.enabled
"""
