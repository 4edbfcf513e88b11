"""Kafka: one self-hosted Apache Kafka broker in KRaft mode on ECS, or Amazon MSK.

Self-hosted is the low-cost default: a single combined broker/controller (no ZooKeeper)
whose log directory lives on encrypted EFS, so a replaced task or host keeps every
topic. It is reached by its Cloud Map name (``kafka.<namespace>:9092``). The service
runs with minimum-healthy 0% / maximum 100% because two brokers must never share one
log directory: a deployment stops the old broker before starting the new one.

``mode="msk"`` swaps in a managed, replicated cluster (TLS on port 9094) for deployments
that cannot accept a single broker's downtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from components._common import (
    PKG,
    StoreArgs,
    child,
    group_reachable_only_from,
    store_security_group,
)
from components.task import Process, ecs_task

PLAINTEXT_PORT = 9092
TLS_PORT = 9094
KAFKA_IMAGE = "apache/kafka:3.9.1"
# KRaft needs a cluster id fixed at format time; it must stay stable across restarts.
CLUSTER_ID = "4L6g3nShT-eMCtK--X86sw"
_DATA_DIR = "/var/lib/kafka/data"


@dataclass(frozen=True)
class KafkaArgs(StoreArgs):
    mode: Literal["self-hosted", "msk"]
    partitions: int
    retention_hours: int
    region: str
    # self-hosted
    cluster_arn: pulumi.Input[str] | None = None
    capacity_provider: pulumi.Input[str] | None = None
    execution_role_arn: pulumi.Input[str] | None = None
    namespace_id: pulumi.Input[str] | None = None
    namespace_name: str = ""
    log_retention_days: int = 7
    cpu: int = 512
    memory: int = 1024
    # msk
    msk_instance_type: str = "kafka.t3.small"
    msk_volume_gb: int = 20


class Kafka(pulumi.ComponentResource):
    bootstrap: pulumi.Output[str]
    security_protocol: str
    replication_factor: int
    security_group: aws.ec2.SecurityGroup
    task_definition: aws.ecs.TaskDefinition | None = None
    service: aws.ecs.Service | None = None

    def __init__(
        self, name: str, args: KafkaArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PKG}:Kafka", name, None, opts)
        port = PLAINTEXT_PORT if args.mode == "self-hosted" else TLS_PORT
        self.security_group = store_security_group(
            name, args, store="Kafka", port=port, parent=self
        )
        if args.mode == "self-hosted":
            self._self_hosted(name, args)
        elif args.mode == "msk":
            self._msk(name, args)
        else:
            raise ValueError(f"unknown Kafka mode {args.mode!r}")
        self.register_outputs(
            {"bootstrap": self.bootstrap, "securityProtocol": self.security_protocol}
        )

    def _self_hosted(self, name: str, args: KafkaArgs) -> None:
        cluster_arn, capacity_provider = args.cluster_arn, args.capacity_provider
        execution_role_arn = args.execution_role_arn
        if cluster_arn is None or capacity_provider is None or execution_role_arn is None:
            raise ValueError("self-hosted Kafka needs the cluster, capacity provider and role")
        if args.namespace_id is None or not args.namespace_name:
            raise ValueError("self-hosted Kafka needs a Cloud Map namespace")
        self.security_protocol = "PLAINTEXT"
        self.replication_factor = 1
        host = f"kafka.{args.namespace_name}"
        self.bootstrap = pulumi.Output.from_input(f"{host}:{PLAINTEXT_PORT}")

        storage_sg = group_reachable_only_from(
            f"{name}-storage",
            rule_name=f"{name}-storage-from-broker",
            vpc_id=args.vpc_id,
            source_group_id=self.security_group.id,
            port=2049,
            description="Kafka log storage (EFS): only the broker",
            rule_description="NFS from the Kafka broker",
            parent=self,
        )
        fs = aws.efs.FileSystem(
            f"{name}-data",
            encrypted=True,
            performance_mode="generalPurpose",
            throughput_mode="elastic",
            tags={"Name": f"{name}-data"},
            opts=child(self),
        )
        for i, subnet in enumerate(args.subnet_ids):
            aws.efs.MountTarget(
                f"{name}-data-{i}",
                file_system_id=fs.id,
                subnet_id=subnet,
                security_groups=[storage_sg.id],
                opts=child(self),
            )
        # apache/kafka runs as uid/gid 1000; the access point gives it its own directory.
        access_point = aws.efs.AccessPoint(
            f"{name}-data",
            file_system_id=fs.id,
            posix_user=aws.efs.AccessPointPosixUserArgs(uid=1000, gid=1000),
            root_directory=aws.efs.AccessPointRootDirectoryArgs(
                path="/kafka",
                creation_info=aws.efs.AccessPointRootDirectoryCreationInfoArgs(
                    owner_uid=1000, owner_gid=1000, permissions="750"
                ),
            ),
            opts=child(self),
        )
        env = {
            "KAFKA_NODE_ID": "1",
            "CLUSTER_ID": CLUSTER_ID,
            "KAFKA_PROCESS_ROLES": "broker,controller",
            "KAFKA_LISTENERS": f"PLAINTEXT://:{PLAINTEXT_PORT},CONTROLLER://localhost:9093",
            "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://{host}:{PLAINTEXT_PORT}",
            "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
            "KAFKA_LOG_DIRS": _DATA_DIR,
            "KAFKA_NUM_PARTITIONS": str(args.partitions),
            "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
            "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
            "KAFKA_LOG_RETENTION_HOURS": str(args.retention_hours),
            "KAFKA_HEAP_OPTS": f"-Xms{args.memory // 2}m -Xmx{args.memory // 2}m",
        }
        task = ecs_task(
            name,
            args,
            process=Process(
                name="kafka",
                port=PLAINTEXT_PORT,
                mount_points=[{"sourceVolume": "data", "containerPath": _DATA_DIR}],
                health_check={
                    "command": [
                        "CMD-SHELL",
                        "/opt/kafka/bin/kafka-broker-api-versions.sh "
                        f"--bootstrap-server localhost:{PLAINTEXT_PORT} >/dev/null",
                    ],
                    "interval": 30,
                    "timeout": 10,
                    "retries": 3,
                    "startPeriod": 120,
                },
                stop_timeout=120,
                ulimits=[{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
            ),
            image=KAFKA_IMAGE,
            environment=env,
            execution_role_arn=execution_role_arn,
            volumes=[
                aws.ecs.TaskDefinitionVolumeArgs(
                    name="data",
                    efs_volume_configuration=aws.ecs.TaskDefinitionVolumeEfsVolumeConfigurationArgs(
                        file_system_id=fs.id,
                        transit_encryption="ENABLED",
                        authorization_config=aws.ecs.TaskDefinitionVolumeEfsVolumeConfigurationAuthorizationConfigArgs(
                            access_point_id=access_point.id, iam="DISABLED"
                        ),
                    ),
                )
            ],
            parent=self,
        )
        self.task_definition = task.definition
        discovery = aws.servicediscovery.Service(
            f"{name}-dns",
            name="kafka",
            dns_config=aws.servicediscovery.ServiceDnsConfigArgs(
                namespace_id=args.namespace_id,
                dns_records=[aws.servicediscovery.ServiceDnsConfigDnsRecordArgs(ttl=10, type="A")],
                routing_policy="MULTIVALUE",
            ),
            health_check_custom_config=aws.servicediscovery.ServiceHealthCheckCustomConfigArgs(),
            opts=child(self),
        )
        self.service = aws.ecs.Service(
            f"{name}",
            cluster=cluster_arn,
            task_definition=task.definition.arn,
            desired_count=1,
            deployment_minimum_healthy_percent=0,
            deployment_maximum_percent=100,
            capacity_provider_strategies=[
                aws.ecs.ServiceCapacityProviderStrategyArgs(
                    capacity_provider=capacity_provider, weight=1
                )
            ],
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=list(args.subnet_ids),
                security_groups=[self.security_group.id],
                assign_public_ip=False,
            ),
            service_registries=aws.ecs.ServiceServiceRegistriesArgs(registry_arn=discovery.arn),
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(
                enable=True, rollback=True
            ),
            propagate_tags="SERVICE",
            opts=child(self),
        )

    def _msk(self, name: str, args: KafkaArgs) -> None:
        self.security_protocol = "SSL"
        self.replication_factor = min(3, len(args.subnet_ids))
        config = aws.msk.Configuration(
            f"{name}-config",
            kafka_versions=["3.6.0"],
            server_properties="\n".join(
                [
                    "auto.create.topics.enable=false",
                    f"num.partitions={args.partitions}",
                    f"default.replication.factor={self.replication_factor}",
                    f"min.insync.replicas={max(1, self.replication_factor - 1)}",
                    f"log.retention.hours={args.retention_hours}",
                ]
            ),
            opts=child(self),
        )
        cluster = aws.msk.Cluster(
            f"{name}",
            kafka_version="3.6.0",
            number_of_broker_nodes=len(args.subnet_ids),
            broker_node_group_info=aws.msk.ClusterBrokerNodeGroupInfoArgs(
                instance_type=args.msk_instance_type,
                client_subnets=list(args.subnet_ids),
                security_groups=[self.security_group.id],
                storage_info=aws.msk.ClusterBrokerNodeGroupInfoStorageInfoArgs(
                    ebs_storage_info=aws.msk.ClusterBrokerNodeGroupInfoStorageInfoEbsStorageInfoArgs(
                        volume_size=args.msk_volume_gb
                    )
                ),
            ),
            encryption_info=aws.msk.ClusterEncryptionInfoArgs(
                encryption_in_transit=aws.msk.ClusterEncryptionInfoEncryptionInTransitArgs(
                    client_broker="TLS", in_cluster=True
                )
            ),
            configuration_info=aws.msk.ClusterConfigurationInfoArgs(
                arn=config.arn, revision=config.latest_revision
            ),
            opts=child(self),
        )
        self.bootstrap = cluster.bootstrap_brokers_tls
