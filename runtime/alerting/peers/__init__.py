"""Real Prometheus and Alertmanager next to the platform, for tests and the bench.

Debian's packages (``prometheus`` 2.42, ``prometheus-alertmanager`` 0.25) run on free
loopback ports with generated configurations in a directory of their own; nothing here
is used in production.
"""
