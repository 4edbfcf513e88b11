"""metrics: the pipeline overview (throughput, consumer lag, notification states)."""
