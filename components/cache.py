"""Cache: ElastiCache for Redis 7 in private subnets.

TLS in transit and an auth token are both required: the platform's Redis holds the rule
snapshot every evaluator trusts, so a writer on the network must not be able to forge
it. Clients connect with `rediss://` and receive the token through ECS `secrets`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._common import PKG, StoreArgs, child, store_security_group

REDIS_PORT = 6379


@dataclass(frozen=True)
class CacheArgs(StoreArgs):
    node_type: str
    auth_token: pulumi.Input[str]
    replicas: int = 0
    snapshot_retention_days: int = 1


class Cache(pulumi.ComponentResource):
    replication_group: aws.elasticache.ReplicationGroup
    address: pulumi.Output[str]
    url: pulumi.Output[str]
    security_group: aws.ec2.SecurityGroup

    def __init__(
        self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PKG}:Cache", name, None, opts)
        self.security_group = store_security_group(
            name, args, store="Redis", port=REDIS_PORT, parent=self
        )
        subnets = aws.elasticache.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=list(args.subnet_ids),
            description="private subnets",
            opts=child(self),
        )
        self.replication_group = aws.elasticache.ReplicationGroup(
            f"{name}",
            description="alerting rule snapshot",
            engine="redis",
            engine_version="7.1",
            node_type=args.node_type,
            num_cache_clusters=1 + args.replicas,
            automatic_failover_enabled=args.replicas > 0,
            multi_az_enabled=args.replicas > 0,
            port=REDIS_PORT,
            subnet_group_name=subnets.name,
            security_group_ids=[self.security_group.id],
            at_rest_encryption_enabled=True,
            transit_encryption_enabled=True,
            auth_token=args.auth_token,
            auth_token_update_strategy="ROTATE",  # noqa: S106 - a strategy name
            snapshot_retention_limit=args.snapshot_retention_days,
            apply_immediately=True,
            opts=child(self),
        )
        self.address = self.replication_group.primary_endpoint_address
        self.url = pulumi.Output.concat("rediss://", self.address, f":{REDIS_PORT}/0")
        self.register_outputs({"address": self.address, "url": self.url})
