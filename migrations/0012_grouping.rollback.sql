-- Grouped notifications and deliveries must be settled first: the checks below refuse
-- GROUPED rows (deliver them, or re-drive them once their rule has no policy).
ALTER TABLE delivery_attempts DROP COLUMN IF EXISTS digest_id;
DROP INDEX IF EXISTS deliveries_group_idx;
ALTER TABLE deliveries
    DROP CONSTRAINT IF EXISTS deliveries_grouped_names_group,
    DROP CONSTRAINT deliveries_status_check,
    ADD CONSTRAINT deliveries_status_check CHECK (status IN ('SENT', 'FAILED', 'RETRY')),
    DROP COLUMN IF EXISTS digest_id,
    DROP COLUMN IF EXISTS group_id;
DROP TABLE IF EXISTS notification_digests;
DROP TABLE IF EXISTS notification_groups;
ALTER TABLE notifications
    DROP CONSTRAINT notifications_status_check,
    ADD CONSTRAINT notifications_status_check CHECK (status IN
        ('PENDING', 'SENDING', 'RETRY', 'SENT', 'FAILED', 'SUPPRESSED'));
ALTER TABLE rules DROP COLUMN IF EXISTS grouping;
