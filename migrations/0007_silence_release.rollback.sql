DROP INDEX IF EXISTS notifications_release_idx;
ALTER TABLE notifications DROP COLUMN IF EXISTS suppression_settled_at;
