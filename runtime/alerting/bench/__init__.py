"""`alerting bench`: each stage's throughput and the end-to-end latency, measured on
real processes against real Postgres, Redis and Kafka (docs/performance.md)."""
