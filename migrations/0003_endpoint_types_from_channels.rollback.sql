-- Back to 0001's fixed list of types. Fails while endpoints or deliveries of another type
-- (or signed endpoints of another type) exist: the code of that schema cannot deliver to
-- them, so delete them first.
ALTER TABLE deliveries
    DROP CONSTRAINT deliveries_endpoint_type_format,
    ADD CONSTRAINT deliveries_endpoint_type_check
        CHECK (endpoint_type IN ('email', 'slack', 'webhook'));

ALTER TABLE endpoints
    DROP CONSTRAINT endpoints_webhook_signed,
    DROP CONSTRAINT endpoints_type_format,
    ADD CONSTRAINT endpoints_check CHECK ((type = 'webhook') = (signing_secret IS NOT NULL)),
    ADD CONSTRAINT endpoints_type_check CHECK (type IN ('email', 'slack', 'webhook'));
