"""rule-updater: keeps the Redis rule snapshot equal to the enabled rules in Postgres."""
