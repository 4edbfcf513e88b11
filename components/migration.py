"""MigrationTask: a one-off ECS task that applies the schema and creates the topics.

It is a task definition, not a service: the deploy tooling (`alerting deploy migrate`)
runs it before a roll-out and waits for exit code 0. `alerting migrate` is idempotent
and safe to run concurrently, and `alerting topics` only creates what is missing, so a
re-run after a partial failure is always safe. The task runs in the services' subnets
and security group because it needs exactly their access (Postgres and Kafka).

A job has no health check: it is judged by its exit code, not by staying up.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._common import PKG, refuse_plain_secrets
from components.task import PlatformTaskArgs, Process, platform_task

CONTAINER = "migrate"
SCRIPT = "alerting migrate && alerting topics"


@dataclass(frozen=True, kw_only=True)
class MigrationTaskArgs(PlatformTaskArgs):
    """The platform task's arguments; the job adds nothing but smaller default sizes."""

    cpu: int = 256
    memory: int = 512


class MigrationTask(pulumi.ComponentResource):
    task_definition: aws.ecs.TaskDefinition
    log_group: aws.cloudwatch.LogGroup

    def __init__(
        self, name: str, args: MigrationTaskArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PKG}:MigrationTask", name, None, opts)
        refuse_plain_secrets("migration", args.environment, args.secret_names)
        process = Process(name=CONTAINER, entry_point=["sh", "-c"], command=[SCRIPT])
        task = platform_task(name, args, process, parent=self)
        self.task_definition = task.definition
        self.log_group = task.log_group
        self.register_outputs({"taskDefinitionArn": self.task_definition.arn})
