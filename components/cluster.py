"""EcsCluster: an ECS cluster on EC2 with a managed-scaling capacity provider.

Hosts come from an auto scaling group whose launch template takes the ECS-optimized
Amazon Linux 2023 AMI from its public SSM parameter, so every `pulumi up` picks up the
currently recommended (patched) image. ECS managed scaling sizes the group to the
tasks' reservations, and managed termination protection stops it from removing a host
that still runs tasks.

Tasks use `awsvpc` networking (one ENI per task, so security groups apply per task).
Small instance types carry very few ENIs; ENI trunking raises that limit on
trunking-capable types, which is why the stack enables it account-wide by default.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._common import (
    PKG,
    assume_role_policy,
    child,
    egress_anywhere,
    execution_role,
)

AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"


@dataclass(frozen=True)
class EcsClusterArgs:
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    instance_type: str
    min_instances: int
    max_instances: int
    root_volume_gb: int = 30
    container_insights: bool = False
    enable_trunking: bool = True


def _user_data(cluster_name: str) -> str:
    """ecs.config for the agent; awsvpc tasks must not reach the host's instance metadata."""
    script = "\n".join(
        [
            "#!/bin/bash",
            f"echo ECS_CLUSTER={cluster_name} >> /etc/ecs/ecs.config",
            "echo ECS_AWSVPC_BLOCK_IMDS=true >> /etc/ecs/ecs.config",
            "echo ECS_ENABLE_CONTAINER_METADATA=true >> /etc/ecs/ecs.config",
        ]
    )
    return base64.b64encode(script.encode()).decode()


class EcsCluster(pulumi.ComponentResource):
    cluster: aws.ecs.Cluster
    capacity_provider: aws.ecs.CapacityProvider
    execution_role: aws.iam.Role
    task_role: aws.iam.Role
    auto_scaling_group: aws.autoscaling.Group

    def __init__(
        self, name: str, args: EcsClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PKG}:EcsCluster", name, None, opts)
        if not 1 <= args.min_instances <= args.max_instances:
            raise ValueError("cluster instance bounds must satisfy 1 <= min <= max")

        self.cluster = aws.ecs.Cluster(
            f"{name}",
            settings=[
                aws.ecs.ClusterSettingArgs(
                    name="containerInsights",
                    value="enabled" if args.container_insights else "disabled",
                )
            ],
            opts=child(self),
        )
        if args.enable_trunking:
            aws.ecs.AccountSettingDefault(
                f"{name}-trunking", name="awsvpcTrunking", value="enabled", opts=child(self)
            )

        instance_role = aws.iam.Role(
            f"{name}-instance",
            assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
            opts=child(self),
        )
        for short, arn in (
            ("ecs", "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"),
            ("ssm", "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"),
        ):
            aws.iam.RolePolicyAttachment(
                f"{name}-instance-{short}",
                role=instance_role.name,
                policy_arn=arn,
                opts=child(self),
            )
        profile = aws.iam.InstanceProfile(
            f"{name}-instance", role=instance_role.name, opts=child(self)
        )

        hosts_sg = aws.ec2.SecurityGroup(
            f"{name}-hosts",
            vpc_id=args.vpc_id,
            description="ECS container instances: no inbound, outbound for the agent and ECR",
            opts=child(self),
        )
        egress_anywhere(
            f"{name}-hosts-egress",
            group_id=hosts_sg.id,
            description="ECS agent, ECR pulls",
            parent=self,
        )

        ami = aws.ssm.get_parameter_output(name=AMI_PARAMETER)
        template = aws.ec2.LaunchTemplate(
            f"{name}-hosts",
            image_id=ami.value,
            instance_type=args.instance_type,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
            vpc_security_group_ids=[hosts_sg.id],
            user_data=self.cluster.name.apply(_user_data),
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=args.root_volume_gb,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            update_default_version=True,
            opts=child(self),
        )
        self.auto_scaling_group = aws.autoscaling.Group(
            f"{name}-hosts",
            min_size=args.min_instances,
            max_size=args.max_instances,
            vpc_zone_identifiers=list(args.subnet_ids),
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=template.id, version="$Latest"
            ),
            protect_from_scale_in=True,
            health_check_type="EC2",
            tags=[
                aws.autoscaling.GroupTagArgs(
                    key="AmazonECSManaged", value="true", propagate_at_launch=True
                ),
                aws.autoscaling.GroupTagArgs(
                    key="Name", value=f"{name}-host", propagate_at_launch=True
                ),
            ],
            # ECS managed scaling owns the desired capacity from here on.
            opts=child(self, ignore_changes=["desiredCapacity"]),
        )
        self.capacity_provider = aws.ecs.CapacityProvider(
            f"{name}-ec2",
            auto_scaling_group_provider=aws.ecs.CapacityProviderAutoScalingGroupProviderArgs(
                auto_scaling_group_arn=self.auto_scaling_group.arn,
                managed_termination_protection="ENABLED",
                managed_scaling=aws.ecs.CapacityProviderAutoScalingGroupProviderManagedScalingArgs(
                    status="ENABLED",
                    target_capacity=100,
                    minimum_scaling_step_size=1,
                    maximum_scaling_step_size=1,
                ),
            ),
            opts=child(self),
        )
        aws.ecs.ClusterCapacityProviders(
            f"{name}-providers",
            cluster_name=self.cluster.name,
            capacity_providers=[self.capacity_provider.name],
            default_capacity_provider_strategies=[
                aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(
                    capacity_provider=self.capacity_provider.name, weight=1, base=0
                )
            ],
            opts=child(self),
        )

        # Shared by every task: the execution role pulls images, writes logs and reads
        # the secrets (policy added by AppSecrets; the keyring's readers get their own
        # role from AppSecrets); the task role grants the application
        # nothing, because the services call no AWS API.
        self.execution_role = execution_role(f"{name}-task-execution", parent=self)
        self.task_role = aws.iam.Role(
            f"{name}-task",
            assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com"),
            opts=child(self),
        )
        self.register_outputs(
            {
                "clusterName": self.cluster.name,
                "clusterArn": self.cluster.arn,
                "capacityProvider": self.capacity_provider.name,
                "autoScalingGroup": self.auto_scaling_group.name,
            }
        )
