-- One per-client index instead of two: (client_id, created_at, notification_id, status).
-- depends: 0012_grouping
-- transactional: false
--
-- notifications_client_created_idx (0002) and notifications_client_status_idx (0001)
-- were each one more descent for every new notification, one btree level deeper once
-- millions are stored (docs/performance.md, "The client indexes merged"). The merged
-- index keeps the tenant list's order (created_at, notification_id, either way) and
-- carries status as a trailing key: a status filter is checked in the index, so a list
-- of rare FAILED or SUPPRESSED rows walks the client's index entries, not its heap rows.
--
-- Not transactional: CONCURRENTLY writes no lock that stops the aggregator for the
-- build (minutes at ten million rows), and cannot run in a transaction. A build that
-- fails leaves an INVALID index behind that IF NOT EXISTS would keep: drop it, migrate
-- again. The old indexes go only after the new one is built.
CREATE INDEX CONCURRENTLY IF NOT EXISTS notifications_client_list_idx
    ON notifications (client_id, created_at, notification_id, status);
DROP INDEX CONCURRENTLY IF EXISTS notifications_client_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS notifications_client_status_idx;
