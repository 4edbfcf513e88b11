"""One-off ECS tasks run from the platform image: the migration job, and the secrets
job that re-seals stored endpoint secrets after a key rotation.

They are task definitions, not services: they run on demand and are judged by their
exit code, not by staying up, so they have no health check. Both run in the services'
subnets and security group because they need exactly their access.

MigrationTask: the deploy tooling (`alerting deploy migrate`) runs it before a roll-out
and waits for exit code 0. `alerting migrate` is idempotent and safe to run
concurrently, and `alerting topics` only creates what is missing, so a re-run after a
partial failure is always safe. It runs with the shared execution role: it needs the
database password, never the keyring.

SecretsTask: `alerting secrets rotate` (docs/deployment.md, "Secrets at rest and key
rotation"), which opens and seals endpoint secrets, so it is given the keyring and runs
with the one execution role allowed to fetch it (components.secrets.AppSecrets); the
migration task could not be reused for it. Its command can be overridden at run time
(`secrets status`); it is safe to stop and re-run.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._common import PKG, refuse_plain_secrets
from components.task import PlatformTaskArgs, Process, platform_task

CONTAINER = "migrate"
SCRIPT = "alerting migrate && alerting topics"
SECRETS_CONTAINER = "secrets"
SECRETS_COMMAND = ("alerting", "secrets", "rotate")


@dataclass(frozen=True, kw_only=True)
class MigrationTaskArgs(PlatformTaskArgs):
    """The platform task's arguments; a one-off job adds nothing but smaller default
    sizes. SecretsTask takes the same."""

    cpu: int = 256
    memory: int = 512


class _OneOffTask(pulumi.ComponentResource):
    task_definition: aws.ecs.TaskDefinition
    log_group: aws.cloudwatch.LogGroup

    def __init__(
        self,
        type_name: str,
        name: str,
        args: MigrationTaskArgs,
        process: Process,
        opts: pulumi.ResourceOptions | None,
    ) -> None:
        # The type token is part of every child's URN: each subclass keeps its own.
        super().__init__(f"{PKG}:{type_name}", name, None, opts)
        refuse_plain_secrets(process.name, args.environment, args.secret_names)
        task = platform_task(name, args, process, parent=self)
        self.task_definition = task.definition
        self.log_group = task.log_group
        self.register_outputs({"taskDefinitionArn": self.task_definition.arn})


class MigrationTask(_OneOffTask):
    """Schema and topics, before every roll-out."""

    def __init__(
        self, name: str, args: MigrationTaskArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        process = Process(name=CONTAINER, entry_point=["sh", "-c"], command=[SCRIPT])
        super().__init__("MigrationTask", name, args, process, opts)


class SecretsTask(_OneOffTask):
    """`alerting secrets rotate`: give it the keyring's execution role and the keyring."""

    def __init__(
        self, name: str, args: MigrationTaskArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        entry_point, *command = SECRETS_COMMAND
        process = Process(name=SECRETS_CONTAINER, entry_point=[entry_point], command=command)
        super().__init__("SecretsTask", name, args, process, opts)
