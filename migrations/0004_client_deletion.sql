-- Deleting a client: a tombstone that hides its notifications at once, purged in batches.
-- depends: 0003_endpoint_types_from_channels
--
-- notifications (and their deliveries, which cascade from them) are keyed by client_id
-- without a foreign key to clients: a tenant can hold millions of rows, and deleting
-- them in the DELETE request's transaction would hold locks on all of them and keep one
-- transaction open for minutes. Instead, DELETE /api/v1/clients/{id} removes the client
-- row, its rules, endpoints and keys, and inserts a tombstone here in the same short
-- transaction. From that commit on, the API and the metrics treat every notification of
-- a tombstoned client_id as gone; the rule-service then deletes them in small batches
-- (one short transaction each, deliveries by cascade; the delivery attempts of issue 16
-- go the same way, with a foreign key to notifications ON DELETE CASCADE) and removes
-- the tombstone once none is left. A client with that id can be created again only then,
-- so a re-created client never sees, re-drives or is de-duplicated against the old
-- tenant's rows: the tombstone can identify them by client_id alone.
CREATE TABLE deleted_clients (
    client_id   text PRIMARY KEY,
    deleted_at  timestamptz NOT NULL DEFAULT now()
);
