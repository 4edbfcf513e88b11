-- Endpoint types come from the channel registry (alerting.channels), not from the schema.
-- depends: 0002_rule_service_list_indexes
--
-- 0001 listed the types ('email', 'slack', 'webhook') in two CHECKs, so every new channel
-- needed a migration. The schema now checks only the name's format, the pattern the
-- registry enforces when a channel registers (alerting.channels.base.TYPE_NAME); whether a
-- type is known is the API's question, answered by the registry.
--
-- 0001 also required a secret exactly for webhooks. Of that, what still protects data is
-- kept: a webhook endpoint always has its secret (without one its requests would go out
-- unsigned, and receivers that verify would reject every delivery). "No other type has a
-- secret" is dropped: which channels sign is the channel's declaration (Channel.signed),
-- and a new signing channel must not need a migration.
--
-- NOT VALID: every existing row satisfied the dropped checks, which imply the new ones, so
-- validating would only re-scan the tables (deliveries grows with traffic) under this
-- ALTER's exclusive lock. New and updated rows are checked all the same.
--
-- The ALTERs take ACCESS EXCLUSIVE on deliveries, the sender's busiest table: queued behind
-- a long transaction, they would stall every sender queued behind them. A short
-- lock_timeout makes the migration fail instead (and `alerting migrate` can be re-run).
SET LOCAL lock_timeout = '5s';

ALTER TABLE endpoints
    DROP CONSTRAINT endpoints_type_check,
    DROP CONSTRAINT endpoints_check,
    ADD CONSTRAINT endpoints_type_format CHECK (type ~ '^[a-z][a-z0-9_]{0,31}$') NOT VALID,
    ADD CONSTRAINT endpoints_webhook_signed
        CHECK (type <> 'webhook' OR signing_secret IS NOT NULL) NOT VALID;

ALTER TABLE deliveries
    DROP CONSTRAINT deliveries_endpoint_type_check,
    ADD CONSTRAINT deliveries_endpoint_type_format
        CHECK (endpoint_type ~ '^[a-z][a-z0-9_]{0,31}$') NOT VALID;
