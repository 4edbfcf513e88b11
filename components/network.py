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
        public_rt = aws.ec2.RouteTable(
            f"{name}-public", vpc_id=self.vpc.id, tags={"Name": f"{name}-public"}, opts=child(self)
        )
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child(self),
        )

        public: list[aws.ec2.Subnet] = []
        private: list[aws.ec2.Subnet] = []
        for i, az in enumerate(args.availability_zones):
            pub = aws.ec2.Subnet(
                f"{name}-public-{i}",
                vpc_id=self.vpc.id,
                cidr_block=public_cidrs[i],
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-public-{az}", "tier": "public"},
                opts=child(self),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{i}",
                subnet_id=pub.id,
                route_table_id=public_rt.id,
                opts=child(self),
            )
            public.append(pub)
            private.append(
                aws.ec2.Subnet(
                    f"{name}-private-{i}",
                    vpc_id=self.vpc.id,
                    cidr_block=private_cidrs[i],
                    availability_zone=az,
                    map_public_ip_on_launch=False,
                    tags={"Name": f"{name}-private-{az}", "tier": "private"},
                    opts=child(self),
                )
            )

        private_rt = aws.ec2.RouteTable(
            f"{name}-private",
            vpc_id=self.vpc.id,
            tags={"Name": f"{name}-private"},
            opts=child(self),
        )
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
            aws.ec2.Route(
                f"{name}-private-default",
                route_table_id=private_rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nat.id,
                opts=child(self),
            )
        for i, subnet in enumerate(private):
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{i}",
                subnet_id=subnet.id,
                route_table_id=private_rt.id,
                opts=child(self),
            )

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
