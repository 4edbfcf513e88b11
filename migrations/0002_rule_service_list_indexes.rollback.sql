DROP INDEX IF EXISTS notifications_client_created_idx;
DROP INDEX IF EXISTS notifications_created_idx;
DROP INDEX IF EXISTS clients_created_idx;
DROP INDEX IF EXISTS rules_created_idx;
