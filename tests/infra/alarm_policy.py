"""The alarm rules of a recorded stack (components/alarms.py), as pure functions
returning violations, like tests/infra/policy.py: every service alarmed on CPU and
memory, the database on CPU, free storage and connections, the sender's FAILED
notifications through its log, and every alarm notifying the one SNS topic."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tests.infra.harness import Recorded
from tests.infra.policy import ECS_SERVICE, LOG_GROUP, RDS, of_type

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"

SERVICE_METRICS = ("CPUUtilization", "MemoryUtilization")
DATABASE_METRICS = ("CPUUtilization", "FreeStorageSpace", "DatabaseConnections")


def _watching(alarms: Iterable[Recorded], namespace: str, key: str, value: str) -> set[str]:
    """Metric names of the alarms on ``namespace`` whose dimension ``key`` is ``value``."""
    return {
        a.inputs["metricName"]
        for a in alarms
        if a.inputs["namespace"] == namespace
        and (a.inputs.get("dimensions") or {}).get(key) == value
    }


def check_service_alarms(resources: Sequence[Recorded], names: Iterable[str]) -> list[str]:
    """Each of the platform's ECS services ``names`` (the roster) is alarmed."""
    alarms = of_type(resources, ALARM)
    services = {s.inputs.get("name") for s in of_type(resources, ECS_SERVICE)}
    problems = []
    for name in names:
        if name not in services:
            problems.append(f"{name}: no ECS service")
            continue
        watched = _watching(alarms, "AWS/ECS", "ServiceName", name)
        problems += [f"{name}: no {m} alarm" for m in SERVICE_METRICS if m not in watched]
    return problems


def check_database_alarms(resources: Sequence[Recorded]) -> list[str]:
    alarms = of_type(resources, ALARM)
    problems = []
    for db in of_type(resources, RDS):
        ident = db.outputs["identifier"]
        watched = _watching(alarms, "AWS/RDS", "DBInstanceIdentifier", ident)
        problems += [
            f"database {ident}: no {m} alarm" for m in DATABASE_METRICS if m not in watched
        ]
    return problems


def check_sender_failed_alarm(resources: Sequence[Recorded], sender_log_group: str) -> list[str]:
    """A metric filter on the sender's log group publishes a metric an alarm watches."""
    groups = {g.outputs["name"] for g in of_type(resources, LOG_GROUP)}
    if sender_log_group not in groups:
        return [f"no log group {sender_log_group}"]
    published = {
        (f.inputs["metricTransformation"]["namespace"], f.inputs["metricTransformation"]["name"])
        for f in of_type(resources, METRIC_FILTER)
        if f.inputs["logGroupName"] == sender_log_group and "$.failed" in f.inputs["pattern"]
    }
    if not published:
        return ["no metric filter on the sender's FAILED log lines"]
    alarmed = {(a.inputs["namespace"], a.inputs["metricName"]) for a in of_type(resources, ALARM)}
    if not published & alarmed:
        return [f"no alarm on the sender's FAILED metric {sorted(published)}"]
    return []


def check_alarm_actions(resources: Sequence[Recorded]) -> list[str]:
    """One topic; every alarm sends ALARM and OK to it."""
    topics = [t.outputs["arn"] for t in of_type(resources, TOPIC)]
    if len(topics) != 1:
        return [f"expected one SNS topic for alarms, found {len(topics)}"]
    problems = []
    for alarm in of_type(resources, ALARM):
        for field in ("alarmActions", "okActions"):
            if alarm.inputs.get(field) != topics:
                problems.append(f"{alarm.name}: {field} {alarm.inputs.get(field)} != {topics}")
    return problems


def subscriptions(resources: Sequence[Recorded]) -> list[tuple[str, str, str]]:
    """(topic, protocol, endpoint) of every SNS subscription."""
    return [
        (s.inputs["topic"], s.inputs["protocol"], s.inputs["endpoint"])
        for s in of_type(resources, SUBSCRIPTION)
    ]
