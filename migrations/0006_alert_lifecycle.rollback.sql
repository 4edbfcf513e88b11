-- Going back to one notification per (client, alert) drops every row but the first
-- episode's firing row: resolved rows and later episodes are lost.
ALTER TABLE rule_outbox DROP COLUMN entity;
DROP TABLE silences;
ALTER TABLE endpoints DROP COLUMN send_resolved;
DROP INDEX notifications_release_idx;
DROP INDEX notifications_firing_idx;
DELETE FROM notifications WHERE kind <> 'firing' OR episode <> 1;
UPDATE notifications SET status = 'FAILED', last_error = 'suppressed by a silence'
    WHERE status = 'SUPPRESSED';
ALTER TABLE notifications
    DROP CONSTRAINT notifications_episode_unique,
    ADD CONSTRAINT notifications_client_alert_unique UNIQUE (client_id, alert_id),
    DROP CONSTRAINT notifications_status_check,
    ADD CONSTRAINT notifications_status_check
        CHECK (status IN ('PENDING', 'SENDING', 'RETRY', 'SENT', 'FAILED')),
    DROP CONSTRAINT notifications_resolved_names_firing,
    DROP COLUMN suppression_settled_at,
    DROP COLUMN silence_id,
    DROP COLUMN firing_id,
    DROP COLUMN episode,
    DROP COLUMN kind;
