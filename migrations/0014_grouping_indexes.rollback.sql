DROP INDEX CONCURRENTLY IF EXISTS notifications_grouped_idx;
DROP INDEX CONCURRENTLY IF EXISTS deliveries_group_idx;
