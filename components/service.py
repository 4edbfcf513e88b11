"""AppService: one platform service on ECS, running `alerting <service>` from the one image.

What every service gets, so no service can be deployed without it:
- a CloudWatch log group with retention, and the awslogs driver;
- a container health check on the service's own ``/healthz`` port;
- settings as plain `environment` and secrets only as ECS `secrets` (Secrets Manager
  ARNs resolved by the agent at start); a secret name in `environment` is refused here;
- a deployment circuit breaker with automatic rollback;
- an Application Auto Scaling target with the configured bounds, and target tracking
  on CPU and memory when the bounds leave room to scale;
- optionally a Cloud Map SRV record (what the gateway's VPC link routes to).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._common import PKG, child, refuse_plain_secrets
from components.task import PlatformTaskArgs, Process, platform_task

# The image's entry point, repeated in the task definition so it reads `alerting <service>`.
ENTRYPOINT = ["alerting"]


@dataclass(frozen=True)
class Scaling:
    desired: int
    min: int
    max: int
    cpu_target: float = 70.0
    memory_target: float = 80.0
    scale_out_cooldown: int = 60
    scale_in_cooldown: int = 300

    def __post_init__(self) -> None:
        if not 0 <= self.min <= self.desired <= self.max:
            raise ValueError(f"scaling needs 0 <= min <= desired <= max, got {self}")


@dataclass(frozen=True)
class AppServiceArgs(PlatformTaskArgs):
    """One service: the platform task's arguments, plus where it runs and how it scales."""

    service: str
    port: int
    cluster_arn: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    capacity_provider: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]
    scaling: Scaling
    namespace_id: pulumi.Input[str] | None = None
    stop_timeout: int = 30


def health_check(service: str) -> dict[str, object]:
    """Container health check: the image's probe GETs the service's /healthz."""
    return {
        "command": ["CMD", "python", "-m", "alerting.deploy.healthcheck", service],
        "interval": 15,
        "timeout": 5,
        "retries": 3,
        "startPeriod": 30,
    }


class AppService(pulumi.ComponentResource):
    service: aws.ecs.Service
    task_definition: aws.ecs.TaskDefinition
    log_group: aws.cloudwatch.LogGroup
    scaling_target: aws.appautoscaling.Target
    discovery: aws.servicediscovery.Service | None = None

    def __init__(
        self, name: str, args: AppServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PKG}:AppService", name, None, opts)
        refuse_plain_secrets(args.service, args.environment, args.secret_names)

        task = platform_task(
            name,
            args,
            Process(
                name=args.service,
                entry_point=ENTRYPOINT,
                command=[args.service],
                port=args.port,
                health_check=health_check(args.service),
                stop_timeout=args.stop_timeout,
                readonly_root_filesystem=False,
            ),
            parent=self,
        )
        self.task_definition = task.definition
        self.log_group = task.log_group

        registries = None
        if args.namespace_id is not None:
            self.discovery = aws.servicediscovery.Service(
                f"{name}-dns",
                name=args.service,
                dns_config=aws.servicediscovery.ServiceDnsConfigArgs(
                    namespace_id=args.namespace_id,
                    dns_records=[
                        aws.servicediscovery.ServiceDnsConfigDnsRecordArgs(ttl=10, type="SRV")
                    ],
                    routing_policy="MULTIVALUE",
                ),
                health_check_custom_config=aws.servicediscovery.ServiceHealthCheckCustomConfigArgs(),
                opts=child(self),
            )
            registries = aws.ecs.ServiceServiceRegistriesArgs(
                registry_arn=self.discovery.arn,
                container_name=args.service,
                container_port=args.port,
            )

        autoscaled = args.scaling.max > args.scaling.min
        self.service = aws.ecs.Service(
            f"{name}",
            name=args.service,
            cluster=args.cluster_arn,
            task_definition=self.task_definition.arn,
            desired_count=args.scaling.desired,
            capacity_provider_strategies=[
                aws.ecs.ServiceCapacityProviderStrategyArgs(
                    capacity_provider=args.capacity_provider, weight=1
                )
            ],
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=list(args.subnet_ids),
                security_groups=list(args.security_group_ids),
                assign_public_ip=False,
            ),
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(
                enable=True, rollback=True
            ),
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            service_registries=registries,
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            # Once autoscaling owns the task count, Pulumi must not reset it on every up.
            opts=child(self, ignore_changes=["desiredCount"] if autoscaled else None),
        )

        resource_id = pulumi.Output.concat("service/", args.cluster_name, "/", self.service.name)
        self.scaling_target = aws.appautoscaling.Target(
            f"{name}-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=resource_id,
            min_capacity=args.scaling.min,
            max_capacity=args.scaling.max,
            opts=child(self),
        )
        if autoscaled:
            for metric, target in (
                ("ECSServiceAverageCPUUtilization", args.scaling.cpu_target),
                ("ECSServiceAverageMemoryUtilization", args.scaling.memory_target),
            ):
                aws.appautoscaling.Policy(
                    f"{name}-{'cpu' if 'CPU' in metric else 'memory'}",
                    policy_type="TargetTrackingScaling",
                    service_namespace=self.scaling_target.service_namespace,
                    scalable_dimension=self.scaling_target.scalable_dimension,
                    resource_id=self.scaling_target.resource_id,
                    target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                        target_value=target,
                        predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                            predefined_metric_type=metric
                        ),
                        scale_in_cooldown=args.scaling.scale_in_cooldown,
                        scale_out_cooldown=args.scaling.scale_out_cooldown,
                    ),
                    opts=child(self),
                )

        self.register_outputs(
            {
                "serviceName": self.service.name,
                "taskDefinitionArn": self.task_definition.arn,
                "logGroup": self.log_group.name,
            }
        )
