"""Alarms: CloudWatch alarms for the platform's own health, notifying one SNS topic.

What pages in AWS, next to the Prometheus rules of deploy/prometheus (which need a
Prometheus that scrapes the tasks; these need nothing but CloudWatch):
- every ECS service's CPU and memory utilisation (AWS/ECS, per cluster and service);
- the database's CPU, free storage and connection count (AWS/RDS);
- notifications the sender ends FAILED. The sender's Prometheus counters never reach
  CloudWatch (nothing scrapes them there), but its log does: the awslogs driver ships
  each JSON line to the service's log group, and the sender logs one line per batch
  with FAILED notifications, carrying their number as ``failed``. A metric filter turns
  that field into a CloudWatch metric, and the alarm watches its sum.

Every alarm sends ALARM and OK to the topic; the subscription (an e-mail address) is a
stack setting, so a stack without one still has the topic to subscribe to by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components._common import PKG, child

# Where the log metric filter publishes.
NAMESPACE = "Alerting"
SENDER_FAILED_METRIC = "SenderFailedNotifications"
# The sender's batch line (alerting/services/sender/worker.py): logger and JSON field.
SENDER_LOGGER = "alerting.services.sender.worker"
SENDER_FAILED_PATTERN = f'{{ ($.logger = "{SENDER_LOGGER}") && ($.failed > 0) }}'
GIB = 1024**3


@dataclass(frozen=True)
class AlarmsArgs:
    """What is watched, and the thresholds (documented in docs/deployment.md)."""

    cluster_name: pulumi.Input[str]
    services: Mapping[str, pulumi.Input[str]]  # roster name -> ECS service name
    db_instance_id: pulumi.Input[str]
    sender_log_group: pulumi.Input[str]
    email: str | None = None  # subscribed to the topic when set
    service_cpu_percent: float = 85.0
    service_memory_percent: float = 85.0
    db_cpu_percent: float = 80.0
    db_free_storage_gib: float = 2.0
    db_connections: int = 80
    sender_failed_per_5m: int = 10


class Alarms(pulumi.ComponentResource):
    topic: aws.sns.Topic
    alarms: dict[str, aws.cloudwatch.MetricAlarm]

    def __init__(
        self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PKG}:Alarms", name, None, opts)
        self._name = name
        self.topic = aws.sns.Topic(f"{name}-topic", opts=child(self))
        if args.email:
            aws.sns.TopicSubscription(
                f"{name}-email",
                topic=self.topic.arn,
                protocol="email",
                endpoint=args.email,
                opts=child(self),
            )
        self.alarms = {}
        for service, ecs_name in args.services.items():
            dimensions = {"ClusterName": args.cluster_name, "ServiceName": ecs_name}
            for metric, limit in (
                ("CPUUtilization", args.service_cpu_percent),
                ("MemoryUtilization", args.service_memory_percent),
            ):
                kind = "cpu" if metric.startswith("CPU") else "memory"
                self._alarm(
                    f"{service}-{kind}",
                    f"{service}: average {kind} above {limit:g}% for 15 minutes",
                    namespace="AWS/ECS",
                    metric=metric,
                    dimensions=dimensions,
                    threshold=limit,
                    periods=3,
                )
        db = {"DBInstanceIdentifier": args.db_instance_id}
        # (key, description, metric, threshold, periods, statistic, comparison)
        database_alarms = (
            (
                "db-cpu",
                f"database: CPU above {args.db_cpu_percent:g}% for 15 minutes",
                "CPUUtilization",
                args.db_cpu_percent,
                3,
                "Average",
                "GreaterThanThreshold",
            ),
            (
                "db-free-storage",
                f"database: less than {args.db_free_storage_gib:g} GiB of storage free",
                "FreeStorageSpace",
                args.db_free_storage_gib * GIB,
                1,
                "Minimum",
                "LessThanThreshold",
            ),
            (
                "db-connections",
                f"database: more than {args.db_connections} connections for 10 minutes",
                "DatabaseConnections",
                args.db_connections,
                2,
                "Maximum",
                "GreaterThanThreshold",
            ),
        )
        for key, description, metric, threshold, periods, statistic, comparison in database_alarms:
            self._alarm(
                key,
                description,
                namespace="AWS/RDS",
                metric=metric,
                dimensions=db,
                threshold=threshold,
                periods=periods,
                statistic=statistic,
                comparison=comparison,
            )
        aws.cloudwatch.LogMetricFilter(
            f"{name}-sender-failed",
            log_group_name=args.sender_log_group,
            pattern=SENDER_FAILED_PATTERN,
            metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                namespace=NAMESPACE,
                name=SENDER_FAILED_METRIC,
                value="$.failed",
                unit="Count",
            ),
            opts=child(self),
        )
        self._alarm(
            "sender-failed",
            f"sender: more than {args.sender_failed_per_5m} notifications FAILED in 5 minutes",
            namespace=NAMESPACE,
            metric=SENDER_FAILED_METRIC,
            dimensions=None,
            threshold=args.sender_failed_per_5m,
            statistic="Sum",
        )
        self.register_outputs({"topicArn": self.topic.arn})

    def _alarm(
        self,
        key: str,
        description: str,
        *,
        namespace: str,
        metric: str,
        dimensions: Mapping[str, pulumi.Input[str]] | None,
        threshold: float,
        periods: int = 1,
        comparison: str = "GreaterThanThreshold",
        statistic: str = "Average",
    ) -> None:
        """One 5-minute alarm notifying the topic; no data is not a breach (a service
        scaled to zero or a sender with nothing failed publishes none)."""
        topic = [self.topic.arn]
        self.alarms[key] = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{key}",
            alarm_description=description,
            namespace=namespace,
            metric_name=metric,
            dimensions=None if dimensions is None else dict(dimensions),
            statistic=statistic,
            period=300,
            evaluation_periods=periods,
            threshold=threshold,
            comparison_operator=comparison,
            treat_missing_data="notBreaching",
            alarm_actions=topic,
            ok_actions=topic,
            opts=child(self),
        )
