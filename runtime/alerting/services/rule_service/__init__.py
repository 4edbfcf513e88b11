"""rule-service: the REST control plane (clients, rules, endpoints, notifications, keys).

Rule changes are written with their ``rule_outbox`` row in one transaction; the outbox
relay running in the same process publishes them to ``rule.changed``.
"""
