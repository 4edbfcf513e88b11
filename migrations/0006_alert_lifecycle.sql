-- Alert lifecycle (docs/lifecycle.md): firing/resolved episodes, silences and
-- maintenance windows, per-endpoint send_resolved.
-- depends: 0005_audit_log
--
-- The dedupe boundary becomes one row per (client, alert, episode, kind): exactly one
-- firing row per episode and at most one resolved row, held by a unique constraint, so
-- redeliveries, retried POSTs and racing aggregators can never add a second one. The
-- constraint's index also answers "the latest episode of this alert" (read backwards).
-- Existing rows are episode 1, firing.
ALTER TABLE notifications
    ADD COLUMN kind text NOT NULL DEFAULT 'firing' CHECK (kind IN ('firing', 'resolved')),
    ADD COLUMN episode integer NOT NULL DEFAULT 1 CHECK (episode >= 1),
    -- A resolved row names its episode's firing row: it waits for that row's delivery
    -- and goes only to the endpoints that row reached.
    ADD COLUMN firing_id uuid,
    -- The silence that muted a SUPPRESSED row (kept after release, for the audit).
    ADD COLUMN silence_id uuid,
    -- A suppressed firing row whose episode was resolved stays SUPPRESSED for good (it
    -- is never sent). Once rule-service's releaser has seen such a row under an inactive
    -- silence it marks it settled, so the release index below holds only rows that may
    -- still be released: the releaser's work per pass follows those, not every row ever
    -- suppressed.
    ADD COLUMN suppression_settled_at timestamptz,
    ADD CONSTRAINT notifications_resolved_names_firing
        CHECK ((kind = 'resolved') = (firing_id IS NOT NULL)),
    DROP CONSTRAINT notifications_status_check,
    ADD CONSTRAINT notifications_status_check
        CHECK (status IN ('PENDING', 'SENDING', 'RETRY', 'SENT', 'FAILED', 'SUPPRESSED')),
    DROP CONSTRAINT notifications_client_alert_unique,
    ADD CONSTRAINT notifications_episode_unique UNIQUE (client_id, alert_id, episode, kind);

-- The resolved row of a firing row (wake-ups when the firing is delivered, the API's
-- episode view).
CREATE INDEX notifications_firing_idx ON notifications (firing_id) WHERE firing_id IS NOT NULL;
-- Rows muted by a silence that may still be released when it ends.
CREATE INDEX notifications_release_idx ON notifications (silence_id)
    WHERE status = 'SUPPRESSED' AND kind = 'firing' AND suppression_settled_at IS NULL;

ALTER TABLE endpoints ADD COLUMN send_resolved boolean NOT NULL DEFAULT true;

-- Silences and maintenance windows (a window is a silence with a weekly schedule in a
-- named time zone). Ended silences are kept (the audit of what was muted and why).
CREATE TABLE silences (
    silence_id  uuid PRIMARY KEY,
    client_id   text NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    -- [{"name": "severity|source|name|context.<key>", "op": "=|!=|=~|!~", "value": "..."}]
    matchers    jsonb NOT NULL CHECK (jsonb_typeof(matchers) = 'array'),
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz,
    -- Maintenance windows only: the zone and [{"days": [0..6], "start_minute": m,
    -- "end_minute": m}] (0 = Monday; minutes since local midnight).
    time_zone   text,
    weekly      jsonb,
    comment     text NOT NULL DEFAULT '' CHECK (length(comment) <= 1000),
    created_by  text NOT NULL,
    version     bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- Set by DELETE (expire now), which also sets ends_at.
    expired_at  timestamptz,
    CONSTRAINT silences_window_fields CHECK ((time_zone IS NULL) = (weekly IS NULL)),
    CONSTRAINT silences_end_required CHECK (ends_at IS NOT NULL OR time_zone IS NOT NULL),
    CONSTRAINT silences_ends_after_start CHECK (ends_at IS NULL OR ends_at > starts_at)
);
-- Keyset pagination per client.
CREATE INDEX silences_client_idx ON silences (client_id, created_at, silence_id);
-- The snapshot carries the silences that are not over.
CREATE INDEX silences_not_ended_idx ON silences (ends_at);
-- An admin's listing of every client's silences (keyset pagination).
CREATE INDEX silences_created_idx ON silences (created_at, silence_id);
-- A client's silences that are not over (no end: a window, never over): the quota's
-- count, the releaser's and /match's active silences read these, not the history.
CREATE INDEX silences_client_end_idx
    ON silences (client_id, (coalesce(ends_at, 'infinity'::timestamptz)));

-- Silence changes travel the rules' outbox and topic (rule_id then holds the silence id).
ALTER TABLE rule_outbox
    ADD COLUMN entity text NOT NULL DEFAULT 'RULE' CHECK (entity IN ('RULE', 'SILENCE'));
