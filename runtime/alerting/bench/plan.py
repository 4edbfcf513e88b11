"""How big each step of a run is: the full run, `--quick`, and `--scale` for tests."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from alerting.bench.ruleset import RuleSetSpec


@dataclass(frozen=True)
class Plan:
    mode: str
    # rule counts x fan-outs, in-process and through the evaluator process
    matching_rules: tuple[int, ...]
    evaluator_rules: tuple[int, ...]
    fanouts: tuple[int, ...]
    rules_per_client: int
    wildcard_share: float
    matching_alerts: int
    # AlertNew messages per evaluator case is this divided by the fan-out, so each case
    # produces about the same number of AlertMatched messages
    evaluator_matches: int
    aggregator_matches: int
    sender_webhooks: int
    sender_emails: int
    sender_clients: int
    e2e_rules: int
    e2e_rate: float  # alerts/s offered for the latency phase
    e2e_latency_s: float
    e2e_max_s: float  # seconds of posting as fast as ingest takes it
    e2e_max_alerts: int  # ... but no more than this many alerts (the backlog must drain)
    live_starts: int  # rule to live: cold starts of rule-service, rule-updater, evaluator
    live_first_rules: int  # ... rules created the moment each start is ready
    live_rules: int  # ... and one after another once running (the steady figure)
    # the evaluator and aggregator cases are run again with this many active silences
    silences: int = 1000
    # unique alerts sent through Alertmanager and through the platform, side by side
    alertmanager_alerts: int = 5000
    # the `stored` stage: notifications of history (with their deliveries and delivery
    # attempts) loaded between its empty and stored runs, created over this many days
    stored_notifications: int = 10_000_000
    stored_days: int = 30
    # the `storm` stage: alerts posted into one grouped rule's webhook endpoint
    storm_alerts: int = 10_000

    def spec(self, rules: int, fanout: int) -> RuleSetSpec:
        clients = max(fanout, rules // self.rules_per_client)
        return RuleSetSpec(
            clients=clients,
            rules_per_client=max(1, rules // clients),
            fanout=fanout,
            wildcard_share=self.wildcard_share,
        )

    def scaled(self, factor: float) -> Plan:
        """Message counts and durations times ``factor`` (rule counts unchanged)."""
        if factor == 1:
            return self

        def n(value: int, least: int = 20) -> int:
            return max(least, int(value * factor))

        return dataclasses.replace(
            self,
            matching_alerts=n(self.matching_alerts, 1000),
            evaluator_matches=n(self.evaluator_matches),
            aggregator_matches=n(self.aggregator_matches),
            sender_webhooks=n(self.sender_webhooks),
            sender_emails=n(self.sender_emails),
            e2e_latency_s=max(1.0, self.e2e_latency_s * factor),
            e2e_max_s=max(1.0, self.e2e_max_s * factor),
            e2e_max_alerts=n(self.e2e_max_alerts, 100),
            live_starts=max(1, round(self.live_starts * factor)),
            live_rules=n(self.live_rules, 5),
            alertmanager_alerts=n(self.alertmanager_alerts, 100),
            stored_notifications=n(self.stored_notifications, 1000),
            storm_alerts=n(self.storm_alerts, 100),
        )


FULL = Plan(
    mode="full",
    matching_rules=(10_000, 100_000),
    evaluator_rules=(10_000, 100_000),
    fanouts=(1, 10),
    rules_per_client=10,
    wildcard_share=0.1,
    matching_alerts=200_000,
    evaluator_matches=200_000,  # about 4 s per case: start-up transients stay small
    aggregator_matches=30_000,
    sender_webhooks=10_000,
    sender_emails=2_000,
    sender_clients=100,
    e2e_rules=10_000,
    e2e_rate=1000.0,
    e2e_latency_s=20.0,
    e2e_max_s=15.0,
    e2e_max_alerts=30_000,
    live_starts=3,
    live_first_rules=5,
    live_rules=50,
)

QUICK = dataclasses.replace(
    FULL,
    mode="quick",
    matching_rules=(10_000,),
    evaluator_rules=(10_000,),
    fanouts=(1,),
    matching_alerts=50_000,
    evaluator_matches=10_000,
    aggregator_matches=5_000,
    sender_webhooks=2_000,
    sender_emails=300,
    sender_clients=20,
    e2e_rules=1_000,
    e2e_latency_s=6.0,
    e2e_max_s=5.0,
    e2e_max_alerts=5_000,
    live_starts=2,
    live_first_rules=3,
    live_rules=20,
    storm_alerts=2_000,
)
