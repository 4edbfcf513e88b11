-- Integrations (docs/integrations.md): Standard Webhooks secret rotation, endpoints a
-- receiver disabled (410 Gone), per-endpoint templates, per-ingest-key label mappings.
-- depends: 0006_alert_lifecycle
--
-- Rotation keeps the previous secret valid for a while (24 h by default): the sender signs
-- with both, one `v1,` signature each, so a receiver can switch secrets without a window
-- in which it rejects us. Sealed like signing_secret (alerting.sealed), bound to its own
-- column. The two columns are set and cleared together.
--
-- A receiver answering 410 Gone asks to be forgotten (Standard Webhooks): the sender
-- disables the endpoint and records why and when, which the API shows until an operator
-- enables it again (and clears both).
--
-- templates: NULL for the channel's built-in rendering, else a JSON object of template
-- name -> Jinja2 source (alerting.templates), validated by the API before it is stored.
--
-- label_mapping: how Prometheus/Alertmanager labels become an alert's fields for alerts
-- posted with this ingest key; NULL for the documented defaults.
--
-- Only columns are added (no default to rewrite, no lock held beyond the ALTER itself).
SET LOCAL lock_timeout = '5s';

ALTER TABLE endpoints
    ADD COLUMN previous_signing_secret text,
    ADD COLUMN previous_secret_expires_at timestamptz,
    ADD COLUMN disabled_reason text CHECK (length(disabled_reason) <= 1024),
    ADD COLUMN disabled_at timestamptz,
    ADD COLUMN templates jsonb CHECK (templates IS NULL OR jsonb_typeof(templates) = 'object'),
    ADD CONSTRAINT endpoints_previous_secret_pair
        CHECK ((previous_signing_secret IS NULL) = (previous_secret_expires_at IS NULL));

ALTER TABLE api_keys
    ADD COLUMN label_mapping jsonb
        CHECK (label_mapping IS NULL OR jsonb_typeof(label_mapping) = 'object'),
    ADD CONSTRAINT api_keys_mapping_ingest_only
        CHECK (label_mapping IS NULL OR scope = 'ingest');
