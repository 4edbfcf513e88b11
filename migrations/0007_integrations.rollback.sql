-- Rotated-out secrets, disable reasons, templates and label mappings are dropped:
-- endpoints keep their current secret, and render and map by the defaults again.
ALTER TABLE api_keys
    DROP CONSTRAINT api_keys_mapping_ingest_only,
    DROP COLUMN label_mapping;
ALTER TABLE endpoints
    DROP CONSTRAINT endpoints_previous_secret_pair,
    DROP COLUMN templates,
    DROP COLUMN disabled_at,
    DROP COLUMN disabled_reason,
    DROP COLUMN previous_secret_expires_at,
    DROP COLUMN previous_signing_secret;
