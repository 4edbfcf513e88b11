"""Composition of the prod stack: which components exist and how they are wired.

`build` returns the stack's exports instead of calling `pulumi.export` itself so the
unit tests can build the whole stack under mocks and inspect exactly what an operator
would see from `pulumi stack output`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from alerting import roster
from components import (
    Alarms,
    AlarmsArgs,
    AppSecrets,
    AppSecretsArgs,
    AppService,
    AppServiceArgs,
    Cache,
    CacheArgs,
    Database,
    DatabaseArgs,
    EcsCluster,
    EcsClusterArgs,
    Gateway,
    GatewayArgs,
    GatewayRoute,
    Kafka,
    KafkaArgs,
    MigrationTask,
    MigrationTaskArgs,
    Network,
    NetworkArgs,
    SecretsTask,
    ServiceImage,
    ServiceImageArgs,
)
from components.gateway import GatewayTarget
from stack import settings
from stack.config import StackConfig, StackSecrets

REPO_ROOT = Path(__file__).resolve().parent.parent

# Gateway routing, from the roster's HTTP APIs, the catch-all last. A route's resource
# name is its position, so a new order would replace the deployed routes.
ROUTES = tuple(
    sorted(
        (GatewayRoute(key, s.name) for s in roster.HTTP_APIS for key in s.routes),
        key=lambda r: r.route_key == "$default",
    )
)

EXPORTS = (
    "apiUrl",
    "ingestUrl",
    "metricsUrl",
    "region",
    "clusterName",
    "serviceNames",
    "ecrRepositoryUrl",
    "imageRef",
    "databaseEndpoint",
    "redisEndpoint",
    "kafkaBootstrap",
    "migrationTaskDefinitionArn",
    "secretsTaskDefinitionArn",
    "privateSubnetIds",
    "servicesSecurityGroupId",
    "alarmTopicArn",
)


def build(cfg: StackConfig, secrets: StackSecrets) -> dict[str, Any]:
    """Declare every resource of the stack; return its exports."""
    stack = pulumi.get_stack()
    net = Network(
        "alerting",
        NetworkArgs(
            cidr=cfg.vpc_cidr,
            availability_zones=cfg.availability_zones,
            nat_gateway=cfg.nat_gateway,
            dns_namespace=cfg.dns_namespace,
        ),
    )
    services_sg = net.services_security_group.id
    cluster = EcsCluster(
        "alerting",
        EcsClusterArgs(
            vpc_id=net.vpc.id,
            subnet_ids=net.private_subnet_ids,
            instance_type=cfg.instance_type,
            min_instances=cfg.min_instances,
            max_instances=cfg.max_instances,
        ),
    )
    image = ServiceImage(
        "alerting",
        ServiceImageArgs(
            context=str(REPO_ROOT),
            dockerfile=str(REPO_ROOT / "Dockerfile"),
            tag=cfg.image_tag,
            build=cfg.image_build,
        ),
    )
    db = Database(
        "alerting-db",
        DatabaseArgs(
            vpc_id=net.vpc.id,
            subnet_ids=net.private_subnet_ids,
            client_security_group_id=services_sg,
            instance_class=cfg.db_instance_class,
            allocated_storage_gb=cfg.db_allocated_storage_gb,
            max_allocated_storage_gb=cfg.db_max_allocated_storage_gb,
            multi_az=cfg.db_multi_az,
            backup_retention_days=cfg.db_backup_retention_days,
            deletion_protection=cfg.db_deletion_protection,
        ),
    )
    cache = Cache(
        "alerting-redis",
        CacheArgs(
            vpc_id=net.vpc.id,
            subnet_ids=net.private_subnet_ids,
            client_security_group_id=services_sg,
            node_type=cfg.cache_node_type,
            auth_token=secrets.redis_auth_token,
            replicas=cfg.cache_replicas,
        ),
    )
    kafka = Kafka(
        "alerting-kafka",
        KafkaArgs(
            mode=cfg.kafka_mode,
            vpc_id=net.vpc.id,
            subnet_ids=net.private_subnet_ids,
            client_security_group_id=services_sg,
            partitions=cfg.kafka_partitions,
            retention_hours=cfg.kafka_retention_hours,
            region=cfg.region,
            cluster_arn=cluster.cluster.arn,
            capacity_provider=cluster.capacity_provider.name,
            execution_role_arn=cluster.execution_role.arn,
            namespace_id=net.namespace.id,
            namespace_name=cfg.dns_namespace,
            log_retention_days=cfg.log_retention_days,
            cpu=cfg.kafka_cpu,
            memory=cfg.kafka_memory,
        ),
    )
    app_secrets = AppSecrets(
        "alerting-secrets",
        AppSecretsArgs(
            prefix=f"alerting/{stack}",
            execution_role_name=cluster.execution_role.name,
            database_secret_arn=db.master_secret_arn,
            admin_token=secrets.admin_token,
            redis_auth_token=secrets.redis_auth_token,
            secret_keys=secrets.secret_keys,
            smtp_password=secrets.smtp_password,
        ),
    )

    common = settings.common_environment(
        kafka_bootstrap=kafka.bootstrap,
        kafka_security_protocol=kafka.security_protocol,
        kafka_partitions=cfg.kafka_partitions,
        kafka_replication_factor=kafka.replication_factor,
        postgres_dsn=pulumi.Output.format(
            "postgresql://alerting@{0}:{1}/alerting?sslmode=require", db.address, db.port
        ),
        redis_url=cache.url,
        smtp=cfg.smtp,
        log_level=cfg.log_level,
    )
    services: dict[str, AppService] = {}
    for name in roster.NAMES:
        svc = cfg.services[name]
        services[name] = AppService(
            f"svc-{name}",
            AppServiceArgs(
                service=name,
                image_ref=image.image_ref,
                port=settings.port(name),
                cluster_arn=cluster.cluster.arn,
                cluster_name=cluster.cluster.name,
                capacity_provider=cluster.capacity_provider.name,
                subnet_ids=net.private_subnet_ids,
                security_group_ids=[services_sg],
                execution_role_arn=(
                    app_secrets.keyring_execution_role.arn
                    if name in settings.HOLDS_KEYRING
                    else cluster.execution_role.arn
                ),
                task_role_arn=cluster.task_role.arn,
                environment=settings.service_environment(name, common, cfg.dns_namespace),
                secrets=settings.service_secrets(name, app_secrets.env),
                secret_names=settings.SECRET_NAMES,
                scaling=svc.scaling,
                cpu=svc.cpu,
                memory=svc.memory,
                region=cfg.region,
                log_retention_days=cfg.log_retention_days,
                namespace_id=net.namespace.id if name in settings.HTTP_APIS else None,
            ),
        )

    def one_off(
        execution_role_arn: pulumi.Output[str], secrets: dict[str, pulumi.Input[str]]
    ) -> MigrationTaskArgs:
        return MigrationTaskArgs(
            image_ref=image.image_ref,
            execution_role_arn=execution_role_arn,
            task_role_arn=cluster.task_role.arn,
            environment=common,
            secrets=secrets,
            secret_names=settings.SECRET_NAMES,
            region=cfg.region,
            log_retention_days=cfg.log_retention_days,
        )

    migration = MigrationTask(
        "migrate",
        one_off(cluster.execution_role.arn, settings.migration_secrets(app_secrets.env)),
    )
    # Re-sealing after a key rotation needs the keyring, which the migration task's
    # shared execution role may not fetch: its own one-off task, with the keyring's role.
    secrets_task = SecretsTask(
        "secrets",
        one_off(
            app_secrets.keyring_execution_role.arn,
            settings.secrets_task_secrets(app_secrets.env),
        ),
    )
    targets = {}
    for name in settings.HTTP_APIS:
        discovery = services[name].discovery
        assert discovery is not None
        targets[name] = GatewayTarget(discovery_arn=discovery.arn, port=settings.port(name))
    gateway = Gateway(
        "alerting-api",
        GatewayArgs(
            vpc_id=net.vpc.id,
            subnet_ids=net.private_subnet_ids,
            services_security_group_id=services_sg,
            targets=targets,
            routes=ROUTES,
            log_retention_days=cfg.log_retention_days,
        ),
    )

    alarms = Alarms(
        "alerting-alarms",
        AlarmsArgs(
            cluster_name=cluster.cluster.name,
            services={name: s.service.name for name, s in services.items()},
            db_instance_id=db.instance.identifier,
            sender_log_group=services[roster.SENDER.name].log_group.name,
            email=cfg.alarm_email,
        ),
    )

    exports: dict[str, Any] = {
        "apiUrl": gateway.url,
        "ingestUrl": gateway.url.apply(lambda u: f"{u}/api/v1/alerts"),
        "metricsUrl": gateway.url.apply(lambda u: f"{u}/api/v1/pipeline"),
        "region": cfg.region,
        "clusterName": cluster.cluster.name,
        "serviceNames": {name: s.service.name for name, s in services.items()},
        "ecrRepositoryUrl": image.repository_url,
        "imageRef": image.image_ref,
        "databaseEndpoint": pulumi.Output.format("{0}:{1}", db.address, db.port),
        "redisEndpoint": cache.address.apply(lambda a: f"{a}:6379"),
        "kafkaBootstrap": kafka.bootstrap,
        "migrationTaskDefinitionArn": migration.task_definition.arn,
        "secretsTaskDefinitionArn": secrets_task.task_definition.arn,
        "privateSubnetIds": net.private_subnet_ids,
        "servicesSecurityGroupId": services_sg,
        "alarmTopicArn": alarms.topic.arn,
    }
    assert tuple(exports) == EXPORTS
    return exports
