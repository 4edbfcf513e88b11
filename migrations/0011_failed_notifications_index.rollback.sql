DROP INDEX IF EXISTS notifications_failed_idx;
