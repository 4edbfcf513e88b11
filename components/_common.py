"""Small helpers shared by the components."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

# Every component's type token lives under this package name.
PKG = "alerting:components"
# What every ECS execution role needs: pull images, write logs.
EXECUTION_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


def child(
    parent: pulumi.Resource,
    *,
    ignore_changes: list[str] | None = None,
    depends_on: Sequence[pulumi.Resource] | None = None,
) -> pulumi.ResourceOptions:
    """Options for a child resource: parented, so it is named and deleted with its component."""
    return pulumi.ResourceOptions(
        parent=parent,
        ignore_changes=ignore_changes,
        depends_on=None if depends_on is None else list(depends_on),
    )


def assume_role_policy(service: str) -> str:
    """Trust policy letting one AWS service principal assume a role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def execution_role(
    name: str, *, parent: pulumi.Resource, description: str | None = None
) -> aws.iam.Role:
    """An ECS task execution role with what every one needs (pull images, write logs):
    the role and its policy attachment are both named ``name``. What secrets it may read
    is granted separately (components.secrets.AppSecrets)."""
    role = aws.iam.Role(
        name,
        assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com"),
        description=description,
        opts=child(parent),
    )
    aws.iam.RolePolicyAttachment(
        name, role=role.name, policy_arn=EXECUTION_POLICY_ARN, opts=child(parent)
    )
    return role


def ingress_from_group(
    name: str,
    *,
    group_id: pulumi.Input[str],
    source_group_id: pulumi.Input[str],
    port: int,
    to_port: int | None = None,
    description: str,
    parent: pulumi.Resource,
) -> aws.vpc.SecurityGroupIngressRule:
    """One TCP ingress rule whose only source is another security group (never a CIDR)."""
    return aws.vpc.SecurityGroupIngressRule(
        name,
        security_group_id=group_id,
        referenced_security_group_id=source_group_id,
        ip_protocol="tcp",
        from_port=port,
        to_port=to_port if to_port is not None else port,
        description=description,
        opts=child(parent),
    )


def group_reachable_only_from(
    name: str,
    *,
    rule_name: str,
    vpc_id: pulumi.Input[str],
    source_group_id: pulumi.Input[str],
    port: int,
    description: str,
    rule_description: str,
    parent: pulumi.Resource,
) -> aws.ec2.SecurityGroup:
    """A security group whose one ingress rule is ``port`` from ``source_group_id``."""
    group = aws.ec2.SecurityGroup(name, vpc_id=vpc_id, description=description, opts=child(parent))
    ingress_from_group(
        rule_name,
        group_id=group.id,
        source_group_id=source_group_id,
        port=port,
        description=rule_description,
        parent=parent,
    )
    return group


@dataclass(frozen=True, kw_only=True)
class StoreArgs:
    """Where a data store (Postgres, Redis, Kafka) lives: the private subnets, and the one
    security group whose tasks may reach it."""

    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    client_security_group_id: pulumi.Input[str]


def store_security_group(
    name: str, args: StoreArgs, *, store: str, port: int, parent: pulumi.Resource
) -> aws.ec2.SecurityGroup:
    """The security group of a data store (Postgres, Redis, Kafka) that only the platform's
    tasks may reach: every store says so in the same words, so the console reads alike."""
    return group_reachable_only_from(
        f"{name}-sg",
        rule_name=f"{name}-from-services",
        vpc_id=args.vpc_id,
        source_group_id=args.client_security_group_id,
        port=port,
        description=f"{store}: only the platform services",
        rule_description=f"{store} from the platform services",
        parent=parent,
    )


def log_group(
    resource_name: str, *, stream: str, retention_days: int, parent: pulumi.Resource
) -> aws.cloudwatch.LogGroup:
    """The CloudWatch group ``/alerting/<stack>/<stream>``: one per stack and source, so two
    stacks in one account never mix logs, and every group has a retention (none = forever)."""
    return aws.cloudwatch.LogGroup(
        resource_name,
        name=f"/alerting/{pulumi.get_stack()}/{stream}",
        retention_in_days=retention_days,
        opts=child(parent),
    )


def refuse_plain_secrets(
    what: str, environment: Mapping[str, pulumi.Input[str]], secrets: AbstractSet[str]
) -> None:
    """A secret in plain `environment` would be readable by anyone who can describe tasks."""
    leaked = sorted(set(environment) & secrets)
    if leaked:
        raise ValueError(f"{what}: secrets must not be plain environment: {leaked}")


def egress_anywhere(
    name: str, *, group_id: pulumi.Input[str], description: str, parent: pulumi.Resource
) -> aws.vpc.SecurityGroupEgressRule:
    """Allow all outbound traffic (images, AWS APIs, webhook endpoints)."""
    return aws.vpc.SecurityGroupEgressRule(
        name,
        security_group_id=group_id,
        cidr_ipv4="0.0.0.0/0",
        ip_protocol="-1",
        description=description,
        opts=child(parent),
    )


def log_configuration(
    log_group: pulumi.Input[str], region: pulumi.Input[str], prefix: str
) -> dict[str, object]:
    """The awslogs driver block of an ECS container definition."""
    return {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": log_group,
            "awslogs-region": region,
            "awslogs-stream-prefix": prefix,
        },
    }


def env_list(env: Mapping[str, str]) -> list[dict[str, str]]:
    """ECS `environment` entries, sorted so the rendered JSON is stable across runs."""
    return [{"name": k, "value": env[k]} for k in sorted(env)]


def secret_list(secrets: Mapping[str, str]) -> list[dict[str, str]]:
    """ECS `secrets` entries (name -> Secrets Manager ARN, optionally with a JSON key)."""
    return [{"name": k, "valueFrom": secrets[k]} for k in sorted(secrets)]
