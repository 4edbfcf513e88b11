"""Network: a VPC over two or more AZs with public and private subnets.

Public subnets hold only the NAT gateway; everything else (ECS hosts and tasks, RDS,
ElastiCache, Kafka, the gateway's VPC link) lives in private subnets. The NAT gateway is
optional because it is the largest fixed cost of a small stack, but without it the
sender cannot reach webhook, Slack or SMTP endpoints on the internet.

The network also owns the Cloud Map namespace (VPC-scoped DNS) and the services'
security group: the one group every platform task runs in, and the only source the data
stores admit.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._common import PKG, child, egress_anywhere


@dataclass(frozen=True)
class NetworkArgs:
    cidr: str
    availability_zones: Sequence[str]
    nat_gateway: bool
    dns_namespace: str


def _subnet_cidrs(cidr: str, count: int) -> tuple[list[str], list[str]]:
    """Carve /20s (4k addresses) out of the VPC range: public first, then private."""
    network = ipaddress.ip_network(cidr)
    subnets = list(network.subnets(new_prefix=max(network.prefixlen + 1, 20)))
    if len(subnets) < 2 * count:
        raise ValueError(f"VPC range {cidr} is too small for {2 * count} subnets")
    return [str(s) for s in subnets[:count]], [str(s) for s in subnets[count : 2 * count]]


class Network(pulumi.ComponentResource):
    vpc: aws.ec2.Vpc
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    services_security_group: aws.ec2.SecurityGroup
    namespace: aws.servicediscovery.PrivateDnsNamespace

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PKG}:Network", name, None, opts)
        if len(args.availability_zones) < 2:
            raise ValueError("the network needs at least two availability zones")
        public_cidrs, private_cidrs = _subnet_cidrs(args.cidr, len(args.availability_zones))

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": f"{name}-vpc"},
            opts=child(self),
        )
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags={"Name": f"{name}-igw"}, opts=child(self)
        )
        public_rt, public = self._tier(name, "public", args.availability_zones, public_cidrs)
        self._default_route(name, "public", public_rt, gateway_id=igw.id)
        private_rt, private = self._tier(name, "private", args.availability_zones, private_cidrs)
        if args.nat_gateway:
            # One NAT gateway, not one per AZ: an AZ outage delays outbound deliveries
            # (they are retried) but halves the largest fixed cost of the stack.
            eip = aws.ec2.Eip(f"{name}-nat", domain="vpc", opts=child(self))
            nat = aws.ec2.NatGateway(
                f"{name}-nat",
                allocation_id=eip.allocation_id,
                subnet_id=public[0].id,
                tags={"Name": f"{name}-nat"},
                opts=child(self, depends_on=[igw]),
            )
            self._default_route(name, "private", private_rt, nat_gateway_id=nat.id)

        self.services_security_group = aws.ec2.SecurityGroup(
            f"{name}-services",
            vpc_id=self.vpc.id,
            description="Platform tasks; the data stores admit only this group",
            tags={"Name": f"{name}-services"},
            opts=child(self),
        )
        egress_anywhere(
            f"{name}-services-egress",
            group_id=self.services_security_group.id,
            description="Kafka, Postgres, Redis, AWS APIs and outbound deliveries",
            parent=self,
        )
        self.namespace = aws.servicediscovery.PrivateDnsNamespace(
            f"{name}-dns",
            name=args.dns_namespace,
            vpc=self.vpc.id,
            description="Service discovery for the alerting platform",
            opts=child(self),
        )

        self.public_subnet_ids = [s.id for s in public]
        self.private_subnet_ids = [s.id for s in private]
        self.register_outputs(
            {
                "vpcId": self.vpc.id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
                "servicesSecurityGroupId": self.services_security_group.id,
                "namespaceId": self.namespace.id,
            }
        )

    def _tier(
        self, name: str, tier: str, zones: Sequence[str], cidrs: Sequence[str]
    ) -> tuple[aws.ec2.RouteTable, list[aws.ec2.Subnet]]:
        """One subnet per zone, all on the tier's one route table."""
        table = aws.ec2.RouteTable(
            f"{name}-{tier}", vpc_id=self.vpc.id, tags={"Name": f"{name}-{tier}"}, opts=child(self)
        )
        subnets: list[aws.ec2.Subnet] = []
        for i, (az, cidr) in enumerate(zip(zones, cidrs, strict=True)):
            # No public IPs even in the public tier: only the NAT gateway lives there,
            # and it gets its address from an Elastic IP.
            subnet = aws.ec2.Subnet(
                f"{name}-{tier}-{i}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-{tier}-{az}", "tier": tier},
                opts=child(self),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-{tier}-{i}", subnet_id=subnet.id, route_table_id=table.id, opts=child(self)
            )
            subnets.append(subnet)
        return table, subnets

    def _default_route(
        self,
        name: str,
        tier: str,
        table: aws.ec2.RouteTable,
        *,
        gateway_id: pulumi.Input[str] | None = None,
        nat_gateway_id: pulumi.Input[str] | None = None,
    ) -> None:
        """The tier's way out: the internet gateway (public) or the NAT gateway (private)."""
        aws.ec2.Route(
            f"{name}-{tier}-default",
            route_table_id=table.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=gateway_id,
            nat_gateway_id=nat_gateway_id,
            opts=child(self),
        )
