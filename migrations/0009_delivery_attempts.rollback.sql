-- The attempt log is dropped (deliveries keep each endpoint's last outcome); endpoints go
-- back to the sender-wide rate.
ALTER TABLE endpoints DROP COLUMN rate_burst, DROP COLUMN rate_per_s;
DROP TABLE delivery_attempts;
