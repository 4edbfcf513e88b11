"""Database: RDS for PostgreSQL 15 in private subnets.

Encrypted at rest, automated backups, never publicly accessible, and reachable only
from the services' security group. The master password is generated and rotated by RDS
itself in Secrets Manager (`manage_master_user_password`), so it never passes through
Pulumi state or this program; tasks receive it through ECS `secrets` from that ARN.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._common import PKG, StoreArgs, child, store_security_group

POSTGRES_PORT = 5432


@dataclass(frozen=True)
class DatabaseArgs(StoreArgs):
    instance_class: str
    allocated_storage_gb: int
    max_allocated_storage_gb: int
    multi_az: bool
    backup_retention_days: int
    deletion_protection: bool
    db_name: str = "alerting"
    username: str = "alerting"


class Database(pulumi.ComponentResource):
    instance: aws.rds.Instance
    address: pulumi.Output[str]
    port: pulumi.Output[int]
    master_secret_arn: pulumi.Output[str]
    security_group: aws.ec2.SecurityGroup

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PKG}:Database", name, None, opts)
        if args.backup_retention_days < 1:
            raise ValueError("automated backups must be kept for at least one day")

        self.security_group = store_security_group(
            name, args, store="Postgres", port=POSTGRES_PORT, parent=self
        )
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=list(args.subnet_ids),
            description="private subnets",
            opts=child(self),
        )
        # rds.force_ssl makes TLS mandatory for every client (PG 15 defaults to optional).
        params = aws.rds.ParameterGroup(
            f"{name}-params",
            family="postgres15",
            parameters=[aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1")],
            opts=child(self),
        )
        self.instance = aws.rds.Instance(
            f"{name}",
            engine="postgres",
            engine_version="15",
            instance_class=args.instance_class,
            allocated_storage=args.allocated_storage_gb,
            max_allocated_storage=args.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            db_name=args.db_name,
            username=args.username,
            manage_master_user_password=True,
            db_subnet_group_name=subnets.name,
            parameter_group_name=params.name,
            vpc_security_group_ids=[self.security_group.id],
            publicly_accessible=False,
            multi_az=args.multi_az,
            backup_retention_period=args.backup_retention_days,
            copy_tags_to_snapshot=True,
            deletion_protection=args.deletion_protection,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{name}-final",
            auto_minor_version_upgrade=True,
            apply_immediately=False,
            opts=child(self),
        )
        self.address = self.instance.address
        self.port = self.instance.port
        self.master_secret_arn = self.instance.master_user_secrets.apply(
            # RDS creates the secret with the instance, so its entry always carries an ARN.
            lambda secrets: (secrets[0].secret_arn or "") if secrets else ""
        )
        self.register_outputs(
            {
                "address": self.address,
                "port": self.port,
                "masterSecretArn": self.master_secret_arn,
            }
        )
