"""Roll one image out to every service: new revisions, update, wait until stable.

All services are updated first and then watched together, so a roll-out takes as long
as the slowest service, not the sum. A service is stable when ECS reports a single
deployment (the new one) that is COMPLETED with every desired task running. A
deployment the circuit breaker marks FAILED (ECS then rolls it back) is reported at
once instead of waiting for the deadline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from alerting.deploy.images import register_revision
from alerting.deploy.waiting import Poll


@dataclass
class ServiceRollout:
    service: str  # platform name, e.g. "sender"
    ecs_name: str
    task_definition: str
    state: str = "PENDING"  # PENDING, STABLE, FAILED, TIMED_OUT
    detail: str = ""


@dataclass
class RolloutReport:
    services: list[ServiceRollout] = field(default_factory=list)

    @property
    def unstable(self) -> list[ServiceRollout]:
        return [s for s in self.services if s.state != "STABLE"]

    @property
    def ok(self) -> bool:
        return not self.unstable


def _judge(svc: Mapping[str, Any], want: str) -> tuple[str, str]:
    """(state, detail) of one described service against the revision it should run."""
    deployments = svc.get("deployments", [])
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    if svc.get("taskDefinition") != want or primary is None:
        return "PENDING", "update not yet visible"
    rollout = primary.get("rolloutState", "")
    if rollout == "FAILED":
        return "FAILED", primary.get("rolloutStateReason", "deployment failed")
    running, desired = svc.get("runningCount", 0), svc.get("desiredCount", 0)
    if len(deployments) == 1 and running == desired and rollout in ("COMPLETED", ""):
        return "STABLE", f"{running}/{desired} tasks running"
    return "PENDING", f"{running}/{desired} running, {len(deployments)} deployments, {rollout}"


def roll_out(
    ecs: Any,
    *,
    cluster: str,
    services: Mapping[str, str],
    image: str,
    repository_url: str,
    poll: Poll,
) -> RolloutReport:
    """Point every service at a new revision running `image`; wait for them to settle."""
    report = RolloutReport()
    current = {
        s["serviceName"]: s
        for s in ecs.describe_services(cluster=cluster, services=list(services.values()))[
            "services"
        ]
    }
    for name, ecs_name in services.items():
        if ecs_name not in current:
            report.services.append(
                ServiceRollout(name, ecs_name, "", state="FAILED", detail="service not found")
            )
            continue
        revision = register_revision(
            ecs, current[ecs_name]["taskDefinition"], image, repository_url
        )
        ecs.update_service(cluster=cluster, service=ecs_name, taskDefinition=revision)
        report.services.append(ServiceRollout(name, ecs_name, revision))

    def settled() -> bool:
        waiting = [s for s in report.services if s.state == "PENDING"]
        if not waiting:
            return True
        described = ecs.describe_services(cluster=cluster, services=[s.ecs_name for s in waiting])
        by_name = {d["serviceName"]: d for d in described["services"]}
        for s in waiting:
            s.state, s.detail = _judge(by_name.get(s.ecs_name, {}), s.task_definition)
        return all(s.state != "PENDING" for s in report.services)

    if not poll.until(settled):
        for s in report.services:
            if s.state == "PENDING":
                s.state = "TIMED_OUT"
    return report
