"""What is deployed right now: the stack's endpoints and each service's rollout state."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from alerting.deploy.outputs import StackOutputs


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    ecs_name: str
    task_definition: str
    image: str
    desired: int
    running: int
    pending: int
    deployments: int
    rollout: str

    @property
    def steady(self) -> bool:
        return self.deployments == 1 and self.running == self.desired and self.pending == 0


def collect(ecs: Any, outputs: StackOutputs) -> list[ServiceStatus]:
    names = list(outputs.services.values())
    described = ecs.describe_services(cluster=outputs.cluster, services=names)["services"]
    by_name = {s["serviceName"]: s for s in described}
    statuses = []
    for service, ecs_name in outputs.services.items():
        svc = by_name.get(ecs_name)
        if svc is None:
            statuses.append(ServiceStatus(service, ecs_name, "-", "-", 0, 0, 0, 0, "MISSING"))
            continue
        taskdef = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])
        containers = taskdef["taskDefinition"]["containerDefinitions"]
        primary: dict[str, Any] = next(
            (d for d in svc.get("deployments", []) if d.get("status") == "PRIMARY"), {}
        )
        statuses.append(
            ServiceStatus(
                service=service,
                ecs_name=ecs_name,
                task_definition=svc["taskDefinition"].rsplit("/", 1)[-1],
                image=containers[0].get("image", "-"),
                desired=svc.get("desiredCount", 0),
                running=svc.get("runningCount", 0),
                pending=svc.get("pendingCount", 0),
                deployments=len(svc.get("deployments", [])),
                rollout=primary.get("rolloutState", "-"),
            )
        )
    return statuses


def render(outputs: StackOutputs, statuses: list[ServiceStatus]) -> str:
    facts = [
        ("cluster", f"{outputs.cluster} ({outputs.region})"),
        *[
            (key, str(outputs.raw[key]))
            for key in ("apiUrl", "ingestUrl", "metricsUrl", "kafkaBootstrap", "databaseEndpoint")
            if outputs.raw.get(key)
        ],
        ("migration task", outputs.migration_task_definition.rsplit("/", 1)[-1]),
    ]
    lines = [f"{key:<18}{value}" for key, value in facts]
    lines.append("")
    header = ("service", "running", "task definition", "rollout", "image")
    rows = [
        (
            s.service,
            f"{s.running}/{s.desired}" + (f" (+{s.pending} pending)" if s.pending else ""),
            s.task_definition,
            s.rollout if s.steady else f"{s.rollout} ({s.deployments} deployments)",
            _short_image(s.image),
        )
        for s in statuses
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def as_json(statuses: list[ServiceStatus]) -> list[dict[str, Any]]:
    return [asdict(s) | {"steady": s.steady} for s in statuses]


def _short_image(image: str) -> str:
    name, sep, digest = image.partition("@sha256:")
    return f"{name.rsplit('/', 1)[-1]}@sha256:{digest[:12]}" if sep else image.rsplit("/", 1)[-1]
