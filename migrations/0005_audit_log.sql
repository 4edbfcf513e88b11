-- Who changed what, when: one row per change made through the rule-service API.
-- depends: 0004_client_deletion
--
-- Rows are written in the transaction of the change they record (a change that rolls
-- back leaves no row) and are never updated. No foreign keys: the history of a deleted
-- client, rule or key outlives it, and a client re-created with the same id must not
-- rewrite it. `details` holds a few non-secret facts (never a token, signing secret or
-- endpoint value). Rows are kept: retention comes with issue 16.
CREATE TABLE audit_log (
    audit_id        uuid PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor           text NOT NULL,        -- 'admin' or 'key:<prefix>'
    actor_client_id text,                 -- the acting key's client (NULL for admin)
    action          text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),  -- e.g. rule.update
    resource_type   text NOT NULL,
    resource_id     text NOT NULL,
    client_id       text,                 -- the tenant the resource belongs to, if any
    details         jsonb NOT NULL DEFAULT '{}'::jsonb,
    request_id      text
);

-- The admin list pages by (at, audit_id), optionally from a client or of one action.
CREATE INDEX audit_log_at_idx ON audit_log (at, audit_id);
CREATE INDEX audit_log_client_at_idx ON audit_log (client_id, at, audit_id);
