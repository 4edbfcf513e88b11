"""Reusable Pulumi components for the alerting platform, one concept per module.

Every component is a ``pulumi.ComponentResource`` whose children are parented to it, so
`pulumi stack --show-urns` reads as a tree of concepts rather than a flat list of
hundreds of AWS resources. Arguments are frozen dataclasses: a typo in a field name
fails at construction, not halfway through an update.
"""

from components.alarms import Alarms, AlarmsArgs
from components.cache import Cache, CacheArgs
from components.cluster import EcsCluster, EcsClusterArgs
from components.database import Database, DatabaseArgs
from components.gateway import Gateway, GatewayArgs, GatewayRoute
from components.image import ServiceImage, ServiceImageArgs
from components.kafka import Kafka, KafkaArgs
from components.migration import MigrationTask, MigrationTaskArgs, SecretsTask
from components.network import Network, NetworkArgs
from components.secrets import AppSecrets, AppSecretsArgs
from components.service import AppService, AppServiceArgs, Scaling

__all__ = [
    "Alarms",
    "AlarmsArgs",
    "AppSecrets",
    "AppSecretsArgs",
    "AppService",
    "AppServiceArgs",
    "Cache",
    "CacheArgs",
    "Database",
    "DatabaseArgs",
    "EcsCluster",
    "EcsClusterArgs",
    "Gateway",
    "GatewayArgs",
    "GatewayRoute",
    "Kafka",
    "KafkaArgs",
    "MigrationTask",
    "MigrationTaskArgs",
    "Network",
    "NetworkArgs",
    "Scaling",
    "SecretsTask",
    "ServiceImage",
    "ServiceImageArgs",
]
