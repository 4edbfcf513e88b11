"""MigrationTask: a one-off ECS task that applies the schema and creates the topics.

It is a task definition, not a service: the deploy tooling (`alerting deploy migrate`)
runs it before a roll-out and waits for exit code 0. `alerting migrate` is idempotent
and safe to run concurrently, and `alerting topics` only creates what is missing, so a
re-run after a partial failure is always safe. The task runs in the services' subnets
and security group because it needs exactly their access (Postgres and Kafka).

A job has no health check: it is judged by its exit code, not by staying up.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components._common import (
    PKG,
    child,
    env_list,
    log_configuration,
    refuse_plain_secrets,
    secret_list,
)

CONTAINER = "migrate"
SCRIPT = "alerting migrate && alerting topics"


@dataclass(frozen=True)
class MigrationTaskArgs:
    image_ref: pulumi.Input[str]
    execution_role_arn: pulumi.Input[str]
    task_role_arn: pulumi.Input[str]
    environment: Mapping[str, pulumi.Input[str]]
    secrets: Mapping[str, pulumi.Input[str]]
    secret_names: frozenset[str]
    region: str
    log_retention_days: int
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
        stack = pulumi.get_stack()
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/alerting/{stack}/migrate",
            retention_in_days=args.log_retention_days,
            opts=child(self),
        )

        def container(v: dict[str, Any]) -> str:
            return json.dumps(
                [
                    {
                        "name": CONTAINER,
                        "image": v["image"],
                        "essential": True,
                        "entryPoint": ["sh", "-c"],
                        "command": [SCRIPT],
                        "environment": env_list(v["env"]),
                        "secrets": secret_list(v["secrets"]),
                        "logConfiguration": log_configuration(
                            v["log_group"], args.region, "migrate"
                        ),
                        "user": "10001",
                    }
                ]
            )

        self.task_definition = aws.ecs.TaskDefinition(
            f"{name}",
            family=f"alerting-{stack}-migrate",
            network_mode="awsvpc",
            requires_compatibilities=["EC2"],
            cpu=str(args.cpu),
            memory=str(args.memory),
            execution_role_arn=args.execution_role_arn,
            task_role_arn=args.task_role_arn,
            container_definitions=pulumi.Output.all(
                image=args.image_ref,
                log_group=self.log_group.name,
                env=dict(args.environment),
                secrets=dict(args.secrets),
            ).apply(container),
            opts=child(self),
        )
        self.register_outputs({"taskDefinitionArn": self.task_definition.arn})
