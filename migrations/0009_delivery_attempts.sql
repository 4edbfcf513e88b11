-- Operating over time (docs/operations.md): every delivery attempt recorded, and
-- per-endpoint delivery rates.
-- depends: 0007_integrations
--
-- (There is no 0008: it was kept for a narrower episode key, which measured no gain;
-- docs/performance.md, issue 14's fourth round.)
--
-- delivery_attempts answers "we got it twice" and "we never got it": one row per call of
-- one endpoint for one notification (attempt = that endpoint's deliveries.attempts after
-- the call), written in the sender's outcome statement with the deliveries row, so it
-- costs no round trip. Like deliveries, it hangs off notifications with ON DELETE
-- CASCADE (migration 0004 promised it): a client purge and retention remove a
-- notification with its deliveries and attempts in one statement. The answer excerpt is
-- the first 1 KB of what the receiver said (text; binary answers are not kept).
CREATE TABLE delivery_attempts (
    notification_id  uuid NOT NULL REFERENCES notifications (notification_id) ON DELETE CASCADE,
    endpoint_id      uuid NOT NULL,
    attempt          integer NOT NULL CHECK (attempt >= 1),
    endpoint_type    text NOT NULL CHECK (endpoint_type ~ '^[a-z][a-z0-9_]{0,31}$'),
    started_at       timestamptz NOT NULL,
    duration_ms      integer NOT NULL CHECK (duration_ms >= 0),
    outcome          text NOT NULL CHECK (outcome IN ('SENT', 'RETRY', 'FAILED')),
    response_code    integer,
    error            text CHECK (length(error) <= 1024),
    response_excerpt text CHECK (length(response_excerpt) <= 1024),
    PRIMARY KEY (notification_id, endpoint_id, attempt)
);

-- Per-endpoint delivery rate (token bucket): NULL takes the channel's default
-- (alerting.channels: Slack's incoming webhooks allow about one message a second, a
-- webhook receiver far more).
ALTER TABLE endpoints
    ADD COLUMN rate_per_s double precision CHECK (rate_per_s > 0 AND rate_per_s <= 100000),
    ADD COLUMN rate_burst integer CHECK (rate_burst >= 1 AND rate_burst <= 100000);
