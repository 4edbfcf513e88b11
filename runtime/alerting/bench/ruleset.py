"""A synthetic rule set whose fan-out is exact, and alerts that hit it. Pure, seeded.

Rules come in groups of ``fanout`` rules that share one alert key but belong to
``fanout`` different clients, so every generated alert matches exactly ``fanout``
clients whatever the rule count. Each group has its own source, which keeps a
wildcard rule (severity or name ``*``) inside its group: the wildcard share changes
which index buckets are hit, never how many clients an alert reaches.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

from alerting.domain.model import WILDCARD, Alert, MatchingRule, Severity

SEVERITIES = tuple(Severity)


@dataclass(frozen=True)
class RuleSetSpec:
    clients: int
    rules_per_client: int
    fanout: int = 1
    wildcard_share: float = 0.1

    def __post_init__(self) -> None:
        if self.clients < 1 or self.rules_per_client < 1:
            raise ValueError("a rule set needs at least one client and one rule per client")
        if not 1 <= self.fanout <= self.clients:
            raise ValueError(f"fan-out {self.fanout} needs 1..{self.clients} clients")
        if not 0 <= self.wildcard_share <= 1:
            raise ValueError(f"wildcard share {self.wildcard_share} is outside [0, 1]")

    @property
    def total(self) -> int:
        return self.clients * self.rules_per_client

    @property
    def groups(self) -> int:
        """Alert keys that match exactly ``fanout`` clients (a partial last group is unused)."""
        return self.total // self.fanout


def client_id(index: int, prefix: str = "bench-c") -> str:
    return f"{prefix}{index:06d}"


def _key(group: int) -> tuple[Severity, str, str]:
    return SEVERITIES[group % len(SEVERITIES)], f"s{group}", f"n{group}"


def rules(spec: RuleSetSpec, seed: int = 0, clients_prefix: str = "bench-c") -> list[MatchingRule]:
    """The rule set; ``clients_prefix`` keeps several sets apart in one database."""
    rng = random.Random(seed)
    out: list[MatchingRule] = []
    for i in range(spec.total):
        # Consecutive rules of a group have consecutive client indices: distinct clients
        # while fanout <= clients, and every client gets rules_per_client rules.
        severity, source, name = _key(i // spec.fanout)
        sev: str = severity.value
        if rng.random() < spec.wildcard_share:
            if rng.random() < 0.5:
                sev = WILDCARD
            else:
                name = WILDCARD
        rule_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        out.append(
            MatchingRule(rule_id, client_id(i % spec.clients, clients_prefix), sev, source, name)
        )
    return out


def alerts(
    spec: RuleSetSpec,
    count: int,
    id_prefix: str,
    event_ts: int,
    seed: int = 1,
) -> list[Alert]:
    """``count`` alerts with ids ``<id_prefix><n>``, each matching ``fanout`` clients."""
    rng = random.Random(seed)
    out: list[Alert] = []
    for n in range(count):
        severity, source, name = _key(rng.randrange(spec.groups))
        out.append(Alert(f"{id_prefix}{n}", severity, source, name, event_ts))
    return out
