-- Bulk re-drive without a client filter (POST /api/v1/notifications/retry, an admin).
-- depends: 0010_time_ordered_notification_ids
--
-- The sweep walks FAILED rows in (created_at, notification_id) order from its position.
-- With notifications_created_idx alone that scan reads every stored notification (nearly
-- all SENT) to find the few FAILED ones, on every call. This index holds only the FAILED
-- rows (a handful: a row leaves it when re-driven), so each call reads its batch and no
-- more; the sender's updates of other rows never touch it.
CREATE INDEX notifications_failed_idx ON notifications (created_at, notification_id)
    WHERE status = 'FAILED';
