"""Gateway: the platform's only internet-facing entry, an API Gateway HTTP API.

HTTPS comes with the API's own ``execute-api`` domain, so no certificate or load balancer
has to exist before the first deploy. Requests reach the private services through a VPC
link into the private subnets, resolved by Cloud Map SRV records (task IP and port).
The VPC link's security group has no inbound rule at all; it may only open connections
to the services' group on the API ports, and the services' group admits it on exactly
those ports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._common import PKG, child, ingress_from_group, log_group

# HTTP proxies between a caller and a task: the API itself (the VPC link is a network
# path, not a proxy). It appends the caller's address to X-Forwarded-For, so the tasks
# trust exactly that many entries from the right (ALERTING_TRUSTED_PROXY_HOPS); entries
# further left are the caller's own text.
PROXY_HOPS = 1
# Every request reaches the task with the gateway's request id, replacing any the caller
# sent: the audit log records it, so an audit row leads to the gateway's access log line.
REQUEST_ID_MAPPING = {"overwrite:header.X-Request-Id": "$context.requestId"}


@dataclass(frozen=True)
class GatewayRoute:
    route_key: str  # e.g. "ANY /api/v1/alerts" or "$default"
    service: str


@dataclass(frozen=True)
class GatewayTarget:
    discovery_arn: pulumi.Input[str]
    port: int


@dataclass(frozen=True)
class GatewayArgs:
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    services_security_group_id: pulumi.Input[str]
    targets: Mapping[str, GatewayTarget]
    routes: Sequence[GatewayRoute]
    log_retention_days: int
    throttle_rate: float = 500.0
    throttle_burst: int = 1000


class Gateway(pulumi.ComponentResource):
    api: aws.apigatewayv2.Api
    url: pulumi.Output[str]
    security_group: aws.ec2.SecurityGroup

    def __init__(
        self, name: str, args: GatewayArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PKG}:Gateway", name, None, opts)
        unknown = {r.service for r in args.routes} - set(args.targets)
        if unknown:
            raise ValueError(f"gateway routes point at services without a target: {unknown}")

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-link",
            vpc_id=args.vpc_id,
            description="API Gateway VPC link: no inbound; outbound to the API ports only",
            opts=child(self),
        )
        for service, target in sorted(args.targets.items()):
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-to-{service}",
                security_group_id=self.security_group.id,
                referenced_security_group_id=args.services_security_group_id,
                ip_protocol="tcp",
                from_port=target.port,
                to_port=target.port,
                description=f"to {service}",
                opts=child(self),
            )
            ingress_from_group(
                f"{name}-into-{service}",
                group_id=args.services_security_group_id,
                source_group_id=self.security_group.id,
                port=target.port,
                description=f"{service} from the API gateway",
                parent=self,
            )

        link = aws.apigatewayv2.VpcLink(
            f"{name}-link",
            name=f"{name}-link",
            subnet_ids=list(args.subnet_ids),
            security_group_ids=[self.security_group.id],
            opts=child(self),
        )
        self.api = aws.apigatewayv2.Api(
            f"{name}",
            protocol_type="HTTP",
            description="alerting platform APIs",
            opts=child(self),
        )
        integrations = {
            service: aws.apigatewayv2.Integration(
                f"{name}-{service}",
                api_id=self.api.id,
                integration_type="HTTP_PROXY",
                integration_method="ANY",
                integration_uri=target.discovery_arn,
                connection_type="VPC_LINK",
                connection_id=link.id,
                payload_format_version="1.0",
                timeout_milliseconds=29000,
                request_parameters=REQUEST_ID_MAPPING,
                opts=child(self),
            )
            for service, target in sorted(args.targets.items())
        }
        for i, route in enumerate(args.routes):
            aws.apigatewayv2.Route(
                f"{name}-route-{i}",
                api_id=self.api.id,
                route_key=route.route_key,
                target=integrations[route.service].id.apply(lambda i: f"integrations/{i}"),
                opts=child(self),
            )
        access_logs = log_group(
            f"{name}-access", stream="gateway", retention_days=args.log_retention_days, parent=self
        )
        stage = aws.apigatewayv2.Stage(
            f"{name}",
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_rate_limit=args.throttle_rate,
                throttling_burst_limit=args.throttle_burst,
            ),
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=access_logs.arn,
                format=(
                    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
                    '"method":"$context.httpMethod","path":"$context.path",'
                    '"status":"$context.status","latencyMs":"$context.responseLatency",'
                    '"integrationError":"$context.integrationErrorMessage"}'
                ),
            ),
            opts=child(self),
        )
        self.url = pulumi.Output.all(self.api.api_endpoint, stage.name).apply(
            lambda v: v[0].rstrip("/")
        )
        self.register_outputs({"url": self.url, "securityGroupId": self.security_group.id})
