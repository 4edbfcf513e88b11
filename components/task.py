"""The one way this stack defines an ECS task, whatever runs in it.

A platform service, the migration job and the self-hosted Kafka broker each run as a
single container in an ``awsvpc`` task on the EC2 capacity provider, log to their own
CloudWatch group and get settings as `environment` (sorted, so the rendered JSON is
stable and an unchanged task does not become a new revision). Writing that once means a
new task cannot forget the log group's retention or drift to another network mode.

Every name is derived from the container's name, so a task, its log group and its log
streams always say the same thing: family ``alerting-<stack>-<container>``, group
``/alerting/<stack>/<container>``, stream prefix ``<container>``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import pulumi
import pulumi_aws as aws

from components._common import child, env_list, log_configuration, log_group, secret_list

# The platform image's unprivileged user (its Dockerfile's USER), stated again in the task
# so ECS never runs the app as root even if an image build forgot it.
APP_USER = "10001"


@dataclass(frozen=True)
class Process:
    """What the task's one container runs and how ECS supervises it.

    The image and what it is given (environment, secrets) are the task's arguments, not
    the process's: the platform's processes all share one image and its settings.
    A field left None is left out of the container definition (ECS applies its default).
    """

    name: str
    entry_point: Sequence[str] | None = None
    command: Sequence[str] | None = None
    port: int | None = None
    mount_points: Sequence[Mapping[str, str]] | None = None
    health_check: Mapping[str, object] | None = None
    stop_timeout: int | None = None
    readonly_root_filesystem: bool | None = None
    ulimits: Sequence[Mapping[str, object]] | None = None
    user: str | None = None


@dataclass(frozen=True)
class EcsTask:
    definition: aws.ecs.TaskDefinition
    log_group: aws.cloudwatch.LogGroup


class TaskSettings(Protocol):
    """How big a task is and how long its logs are kept: every task-owning component's
    arguments carry these (KafkaArgs, and PlatformTaskArgs for the platform's own)."""

    @property
    def cpu(self) -> int: ...
    @property
    def memory(self) -> int: ...
    @property
    def region(self) -> str: ...
    @property
    def log_retention_days(self) -> int: ...


def ecs_task(
    name: str,
    settings: TaskSettings,
    *,
    process: Process,
    image: pulumi.Input[str],
    environment: Mapping[str, pulumi.Input[str]],
    # Secrets Manager ARNs the ECS agent resolves at start. None, not {}, leaves the
    # `secrets` block out altogether, which is how a third-party image runs.
    secrets: Mapping[str, pulumi.Input[str]] | None = None,
    execution_role_arn: pulumi.Input[str],
    task_role_arn: pulumi.Input[str] | None = None,
    volumes: Sequence[aws.ecs.TaskDefinitionVolumeArgs] | None = None,
    parent: pulumi.Resource,
) -> EcsTask:
    """A log group ``{name}-logs`` and a task definition ``{name}`` running ``process``.

    Both are children of ``parent``, so the component that asks for a task owns it.
    """
    logs = log_group(
        f"{name}-logs",
        stream=process.name,
        retention_days=settings.log_retention_days,
        parent=parent,
    )
    resolved = pulumi.Output.all(
        image=image,
        log_group=logs.name,
        env=dict(environment),
        secrets=dict(secrets or {}),
    )
    containers = resolved.apply(
        lambda v: json.dumps(
            [
                container_definition(
                    process,
                    image=v["image"],
                    environment=v["env"],
                    secrets=None if secrets is None else v["secrets"],
                    log_group_name=v["log_group"],
                    region=settings.region,
                )
            ]
        )
    )
    definition = aws.ecs.TaskDefinition(
        name,
        family=f"alerting-{pulumi.get_stack()}-{process.name}",
        network_mode="awsvpc",
        requires_compatibilities=["EC2"],
        cpu=str(settings.cpu),
        memory=str(settings.memory),
        execution_role_arn=execution_role_arn,
        task_role_arn=task_role_arn,
        container_definitions=containers,
        volumes=None if volumes is None else list(volumes),
        opts=child(parent),
    )
    return EcsTask(definition=definition, log_group=logs)


def container_definition(
    process: Process,
    *,
    image: str,
    environment: Mapping[str, str],
    secrets: Mapping[str, str] | None,
    log_group_name: str,
    region: str,
) -> dict[str, object]:
    """The ECS container definition, from the task's resolved inputs.

    Keys keep one fixed order: the definition is stored as a JSON string, so a
    reordering alone would register a new task revision and roll every task.
    """
    fields: dict[str, object | None] = {
        "name": process.name,
        "image": image,
        "essential": True,
        "entryPoint": _list_or_none(process.entry_point),
        "command": _list_or_none(process.command),
        "portMappings": (
            None if process.port is None else [{"containerPort": process.port, "protocol": "tcp"}]
        ),
        "environment": env_list(environment),
        "secrets": None if secrets is None else secret_list(secrets),
        "mountPoints": _dicts_or_none(process.mount_points),
        "logConfiguration": log_configuration(log_group_name, region, process.name),
        "healthCheck": None if process.health_check is None else dict(process.health_check),
        "stopTimeout": process.stop_timeout,
        "readonlyRootFilesystem": process.readonly_root_filesystem,
        "ulimits": _dicts_or_none(process.ulimits),
        "user": process.user,
    }
    # Left out rather than null: ECS reads a missing key as its default.
    return {key: value for key, value in fields.items() if value is not None}


@dataclass(frozen=True, kw_only=True)
class PlatformTaskArgs:
    """What any task running the platform image is given: AppServiceArgs and
    MigrationTaskArgs extend it, so a service and the migration job are wired alike."""

    image_ref: pulumi.Input[str]
    execution_role_arn: pulumi.Input[str]
    task_role_arn: pulumi.Input[str]
    environment: Mapping[str, pulumi.Input[str]]
    secrets: Mapping[str, pulumi.Input[str]]
    # Names the runtime treats as secrets (alerting.config.SETTINGS with secret=True),
    # passed in by the stack so no component keeps its own copy of the list.
    secret_names: frozenset[str]
    region: str
    log_retention_days: int
    cpu: int
    memory: int


def platform_task(
    name: str, args: PlatformTaskArgs, process: Process, *, parent: pulumi.Resource
) -> EcsTask:
    """A task running ``process`` from the platform image, as its unprivileged user."""
    return ecs_task(
        name,
        args,
        process=replace(process, user=APP_USER),
        image=args.image_ref,
        environment=args.environment,
        secrets=args.secrets,
        execution_role_arn=args.execution_role_arn,
        task_role_arn=args.task_role_arn,
        parent=parent,
    )


def _list_or_none(values: Sequence[str] | None) -> list[str] | None:
    return None if values is None else list(values)


def _dicts_or_none(values: Sequence[Mapping[str, object]] | None) -> list[dict[str, object]] | None:
    return None if values is None else [dict(v) for v in values]
