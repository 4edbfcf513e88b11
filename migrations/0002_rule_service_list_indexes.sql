-- Keyset pagination of the admin-wide lists (no client filter) of the rule-service.
-- depends: 0001_initial_schema

CREATE INDEX rules_created_idx ON rules (created_at, rule_id);
CREATE INDEX clients_created_idx ON clients (created_at, client_id);
CREATE INDEX notifications_created_idx ON notifications (created_at, notification_id);
CREATE INDEX notifications_client_created_idx
    ON notifications (client_id, created_at, notification_id);
