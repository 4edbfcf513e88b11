"""The alerting platform's Pulumi program (see `__main__.py`)."""
