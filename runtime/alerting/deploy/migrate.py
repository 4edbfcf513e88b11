"""Run the migration task (schema + topics) once and judge it by its exit code.

Run it before a roll-out: the new code may need the new schema, and migrations are
written to be compatible with the code still running. The task uses the services'
subnets and security group because it needs exactly their access.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from alerting.deploy.outputs import DeployError
from alerting.deploy.waiting import Poll


@dataclass(frozen=True)
class MigrationResult:
    task_arn: str
    exit_code: int | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def run_migration(
    ecs: Any,
    *,
    cluster: str,
    task_definition: str,
    subnets: Sequence[str],
    security_groups: Sequence[str],
    poll: Poll,
) -> MigrationResult:
    started = ecs.run_task(
        cluster=cluster,
        taskDefinition=task_definition,
        count=1,
        startedBy="alerting-deploy",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": list(subnets),
                "securityGroups": list(security_groups),
                "assignPublicIp": "DISABLED",
            }
        },
    )
    if not started.get("tasks"):
        reasons = "; ".join(f.get("reason", "?") for f in started.get("failures", []))
        raise DeployError(f"the migration task could not be placed: {reasons or 'no reason given'}")
    arn = started["tasks"][0]["taskArn"]
    last: dict[str, Any] = {}

    def stopped() -> bool:
        nonlocal last
        last = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
        return bool(last.get("lastStatus") == "STOPPED")

    if not poll.until(stopped):
        return MigrationResult(
            arn, None, f"still {last.get('lastStatus')} after {poll.timeout:.0f}s"
        )
    return _verdict(arn, last)


def _verdict(arn: str, task: dict[str, Any]) -> MigrationResult:
    """The first failing container decides; a container that never ran has no exit code."""
    for container in task.get("containers", []):
        code = container.get("exitCode")
        if code is None:
            reason = container.get("reason") or task.get("stoppedReason") or "did not run"
            return MigrationResult(arn, None, f"{container.get('name')}: {reason}")
        if code != 0:
            return MigrationResult(arn, int(code), f"{container.get('name')} exited with {code}")
    return MigrationResult(arn, 0, "completed")
