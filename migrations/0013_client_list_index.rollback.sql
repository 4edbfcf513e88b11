-- In the order they run; each undoes the step of 0013 it is paired with by yoyo (the
-- last here with the first there), so a half-applied migration unwinds cleanly too.
CREATE INDEX CONCURRENTLY IF NOT EXISTS notifications_client_status_idx
    ON notifications (client_id, status, created_at, notification_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS notifications_client_created_idx
    ON notifications (client_id, created_at, notification_id);
DROP INDEX CONCURRENTLY IF EXISTS notifications_client_list_idx;
