-- The platform's initial schema (docs/architecture.md describes where each table is
-- used). Every timestamp is timestamptz.
-- depends:

CREATE TABLE clients (
    client_id   text PRIMARY KEY CHECK (client_id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rules (
    rule_id     uuid PRIMARY KEY,
    client_id   text NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    severity    text NOT NULL CHECK (severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL', '*')),
    source      text NOT NULL CHECK (length(source) BETWEEN 1 AND 200),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    enabled     boolean NOT NULL DEFAULT true,
    version     bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rules_not_all_wildcards CHECK (NOT (severity = '*' AND source = '*' AND name = '*')),
    CONSTRAINT rules_client_match_unique UNIQUE (client_id, severity, source, name)
);
-- Snapshot rebuilds read only enabled rules.
CREATE INDEX rules_enabled_idx ON rules (rule_id) WHERE enabled;
-- Keyset pagination per client.
CREATE INDEX rules_client_idx ON rules (client_id, created_at, rule_id);

CREATE TABLE endpoints (
    endpoint_id     uuid PRIMARY KEY,
    rule_id         uuid NOT NULL REFERENCES rules (rule_id) ON DELETE CASCADE,
    type            text NOT NULL CHECK (type IN ('email', 'slack', 'webhook')),
    value           text NOT NULL CHECK (length(value) BETWEEN 1 AND 2048),
    enabled         boolean NOT NULL DEFAULT true,
    -- Only webhooks sign their requests; the secret is shown once at creation.
    signing_secret  text CHECK ((type = 'webhook') = (signing_secret IS NOT NULL)),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT endpoints_rule_value_unique UNIQUE (rule_id, type, value)
);
CREATE INDEX endpoints_rule_idx ON endpoints (rule_id, created_at, endpoint_id);

CREATE TABLE notifications (
    notification_id  uuid PRIMARY KEY,
    client_id        text NOT NULL,
    alert_id         text NOT NULL,
    severity         text NOT NULL,
    source           text NOT NULL,
    name             text NOT NULL,
    context          jsonb NOT NULL DEFAULT '{}'::jsonb,
    event_ts         timestamptz NOT NULL,
    rule_ids         uuid[] NOT NULL,
    status           text NOT NULL DEFAULT 'PENDING'
                     CHECK (status IN ('PENDING', 'SENDING', 'RETRY', 'SENT', 'FAILED')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz,
    -- Lease of the sender that claimed it; a claim past its lease is taken over.
    claimed_by       text,
    claim_expires_at timestamptz,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    -- The dedupe boundary: at most one notification per (client, alert).
    CONSTRAINT notifications_client_alert_unique UNIQUE (client_id, alert_id)
);
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at)
    WHERE status IN ('PENDING', 'RETRY');
CREATE INDEX notifications_lease_idx ON notifications (claim_expires_at)
    WHERE status = 'SENDING';
CREATE INDEX notifications_client_status_idx
    ON notifications (client_id, status, created_at, notification_id);

-- One row per (notification, endpoint): a retry never re-sends to an endpoint that succeeded.
CREATE TABLE deliveries (
    notification_id  uuid NOT NULL REFERENCES notifications (notification_id) ON DELETE CASCADE,
    endpoint_id      uuid NOT NULL,
    endpoint_type    text NOT NULL CHECK (endpoint_type IN ('email', 'slack', 'webhook')),
    status           text NOT NULL CHECK (status IN ('SENT', 'FAILED', 'RETRY')),
    attempts         integer NOT NULL DEFAULT 0,
    last_error       text,
    response_code    integer,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (notification_id, endpoint_id)
);

-- Transactional outbox for rule.changed: written in the rule's own transaction.
CREATE TABLE rule_outbox (
    outbox_id    bigserial PRIMARY KEY,
    rule_id      uuid NOT NULL,
    client_id    text NOT NULL,
    action       text NOT NULL CHECK (action IN ('CREATED', 'UPDATED', 'DELETED', 'DISABLED')),
    version      bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX rule_outbox_unpublished_idx ON rule_outbox (outbox_id) WHERE published_at IS NULL;

-- API keys: only a hash is stored; the secret is shown once.
CREATE TABLE api_keys (
    key_id       uuid PRIMARY KEY,
    prefix       text NOT NULL UNIQUE,
    secret_hash  text NOT NULL,
    scope        text NOT NULL CHECK (scope IN ('client', 'ingest')),
    client_id    text REFERENCES clients (client_id) ON DELETE CASCADE,
    description  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT api_keys_scope_client CHECK ((scope = 'client') = (client_id IS NOT NULL))
);
CREATE INDEX api_keys_client_idx ON api_keys (client_id) WHERE client_id IS NOT NULL;
