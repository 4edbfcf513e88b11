-- Grouping's indexes on the big tables (docs/grouping.md), built without blocking writes.
-- depends: 0013_client_list_index
-- transactional: false
--
-- Not transactional: CONCURRENTLY takes no lock that stops the senders and the
-- aggregator for the build (minutes at ten million rows), and cannot run in a
-- transaction. A build that fails leaves an INVALID index that IF NOT EXISTS would
-- keep: drop it and migrate again (docs/operations.md).
--
-- A group's members: those waiting for a digest (digest_id NULL), those of a digest, and
-- those still firing for a repeat. Ungrouped deliveries (nearly all) are not in it.
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_group_idx ON deliveries (group_id, digest_id)
    WHERE group_id IS NOT NULL;
-- The flusher's sweep of GROUPED notifications no digest is left to settle
-- (group_statements.STRANDED), oldest first; only GROUPED rows, so it stays small.
CREATE INDEX CONCURRENTLY IF NOT EXISTS notifications_grouped_idx
    ON notifications (updated_at, notification_id)
    WHERE status = 'GROUPED';
