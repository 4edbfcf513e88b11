-- Grouping and digests (docs/grouping.md, DESIGN section 10): a rule's grouping policy,
-- the open groups of (endpoint, kind, group key) and the digests that carry them.
-- depends: 0011_failed_notifications_index
--
-- A notification keeps its own row, deliveries and attempt log: a grouped endpoint's
-- deliveries row is GROUPED (joined to a group, waiting for a digest) until the digest
-- that carries it is sent, then SENT or FAILED like any other. The notification is
-- GROUPED while any of its deliveries is, then settled by docs/grouping.md's final-status
-- rule (group_statements.FINALISE).
--
-- Online: the ALTERs of notifications and deliveries (the busiest tables) take ACCESS
-- EXCLUSIVE for a moment only. Their new checks are NOT VALID: every existing row passed
-- the old ones, which the new ones widen, so validating would only re-scan the tables
-- under that lock; new and updated rows are checked all the same. The new columns have
-- no default (no rewrite). The index on deliveries is built CONCURRENTLY by 0014. A
-- short lock_timeout makes the migration fail, to be re-run, rather than stall every
-- writer queued behind it while it waits for a long transaction.
SET LOCAL lock_timeout = '5s';

-- NULL: no grouping (every notification is its own message, as before).
-- {"group_by": [...], "group_wait_s": n, "group_interval_s": n, "repeat_interval_s": n}
ALTER TABLE rules ADD COLUMN grouping jsonb
    CHECK (grouping IS NULL OR jsonb_typeof(grouping) = 'object');

ALTER TABLE notifications
    DROP CONSTRAINT notifications_status_check,
    ADD CONSTRAINT notifications_status_check CHECK (status IN
        ('PENDING', 'SENDING', 'RETRY', 'SENT', 'FAILED', 'SUPPRESSED', 'GROUPED')) NOT VALID;

-- One group per (endpoint, kind, group key) open at a time: firing and resolved members
-- never share a message. A group closes when nothing is left to send or re-announce; the
-- next member opens a new one (and waits group_wait_s again), as in Alertmanager.
-- Closed groups are kept with their digests (the audit of what went out) for the
-- notification retention period, then deleted by retention like the notifications.
CREATE TABLE notification_groups (
    group_id          uuid PRIMARY KEY,
    client_id         text NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    -- No foreign keys to the rule or the endpoint: a group whose endpoint was deleted
    -- is still flushed, and its members fail with the reason, rather than staying
    -- GROUPED for ever.
    rule_id           uuid NOT NULL,
    endpoint_id       uuid NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('firing', 'resolved')),
    -- The group_by values of its members ({"severity": "HIGH", "context.host": "db-1"}),
    -- and their canonical text (domain.grouping.group_key), which the uniqueness holds on.
    labels            jsonb NOT NULL CHECK (jsonb_typeof(labels) = 'object'),
    group_key         text NOT NULL,
    -- sha256 of group_key (hex, set by the statement that opens the group): what the
    -- uniqueness holds on. Not the text, which up to 8 context values of 1,024
    -- characters would take past a btree entry's size limit; not md5, whose collisions
    -- can be made to order.
    key_hash          text NOT NULL CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    -- The timers the group runs on: the rule's policy when it opened, refreshed from the
    -- rule at each flush (a rule whose policy was removed keeps its last timers until
    -- its open groups close).
    group_wait_s      integer NOT NULL CHECK (group_wait_s >= 0),
    group_interval_s  integer NOT NULL CHECK (group_interval_s >= 1),
    repeat_interval_s integer NOT NULL CHECK (repeat_interval_s >= 1),
    opened_at         timestamptz NOT NULL DEFAULT now(),
    -- The next flush; NULL while there is nothing to send until a member joins.
    due_at            timestamptz,
    last_flushed_at   timestamptz,
    flushes           integer NOT NULL DEFAULT 0 CHECK (flushes >= 0),
    -- The flusher that holds the group, and until when (a claim past it is taken over).
    claimed_by        text,
    claim_expires_at  timestamptz,
    closed_at         timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX notification_groups_open_key
    ON notification_groups (endpoint_id, kind, key_hash) WHERE closed_at IS NULL;
-- The flusher's claim: open groups by due time.
CREATE INDEX notification_groups_due_idx ON notification_groups (due_at)
    WHERE closed_at IS NULL AND due_at IS NOT NULL;
-- The API's listing per client and, for an admin, of all clients (keyset pagination,
-- newest first).
CREATE INDEX notification_groups_client_idx
    ON notification_groups (client_id, opened_at, group_id);
CREATE INDEX notification_groups_opened_idx ON notification_groups (opened_at, group_id);
-- Retention's batches of closed groups, oldest first.
CREATE INDEX notification_groups_closed_idx ON notification_groups (closed_at, group_id)
    WHERE closed_at IS NOT NULL;

-- One message of a group. Its members are fixed when it is made, so a repeat after a
-- crash or a failed try carries the same members under the same id (the webhook-id a
-- receiver de-duplicates by).
CREATE TABLE notification_digests (
    digest_id         uuid PRIMARY KEY,
    group_id          uuid NOT NULL REFERENCES notification_groups (group_id) ON DELETE CASCADE,
    seq               integer NOT NULL CHECK (seq >= 1),
    -- A re-announcement (repeat_interval_s) of members still firing, not new ones.
    is_repeat         boolean NOT NULL DEFAULT false,
    notification_ids  uuid[] NOT NULL,
    members           integer NOT NULL CHECK (members >= 1),
    status            text NOT NULL DEFAULT 'SENDING'
                      CHECK (status IN ('SENDING', 'RETRY', 'SENT', 'FAILED')),
    attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at   timestamptz,
    last_error        text,
    response_code     integer,
    created_at        timestamptz NOT NULL DEFAULT now(),
    sent_at           timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notification_digests_group_seq UNIQUE (group_id, seq)
);

-- A grouped delivery names its group and, once one carries it, its first digest.
ALTER TABLE deliveries
    ADD COLUMN group_id uuid,
    ADD COLUMN digest_id uuid,
    DROP CONSTRAINT deliveries_status_check,
    ADD CONSTRAINT deliveries_status_check
        CHECK (status IN ('SENT', 'FAILED', 'RETRY', 'GROUPED')) NOT VALID,
    ADD CONSTRAINT deliveries_grouped_names_group
        CHECK (status <> 'GROUPED' OR group_id IS NOT NULL) NOT VALID;

-- The attempt log's rows of a digest's members name it.
ALTER TABLE delivery_attempts ADD COLUMN digest_id uuid;
