"""`alerting ingest`: the HTTP front door of the data plane (alerts and load-generator jobs)."""
