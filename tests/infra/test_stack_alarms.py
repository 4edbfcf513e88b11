"""The prod stack's CloudWatch alarms (components/alarms.py), built under Pulumi mocks:
each rule holds on the real stack and is reported on a copy broken the way it forbids."""

from __future__ import annotations

import pytest

from alerting import roster
from components.alarms import SENDER_FAILED_PATTERN
from stack.config import ConfigError, parse
from tests.infra import alarm_policy as rules
from tests.infra.harness import Recorded, prod_config
from tests.infra.policy import TASKDEF, containers
from tests.infra.test_stack_policy import Built

REGION = "us-east-1"


@pytest.fixture(scope="module")
def prod() -> Built:
    return Built()


def sender_log_group(prod: Built) -> str:
    (taskdef,) = [
        t for t in prod.resources if t.typ == TASKDEF and t.inputs["family"].endswith("sender")
    ]
    (container,) = containers(taskdef)
    return str(container["logConfiguration"]["options"]["awslogs-group"])


def alarm(prod: Built, key: str) -> Recorded:
    return prod.named(f"alerting-alarms-{key}", rules.ALARM)


def test_every_service_has_cpu_and_memory_alarms(prod: Built) -> None:
    assert rules.check_service_alarms(prod.resources, roster.NAMES) == []
    assert len(rules.of_type(prod.resources, rules.ALARM)) == 2 * len(roster.NAMES) + 3 + 1


def test_a_service_without_its_memory_alarm_is_reported(prod: Built) -> None:
    broken = prod.broken(
        "alerting-alarms-sender-memory",
        rules.ALARM,
        lambda i: i.update(metricName="CPUUtilization"),
    )
    assert rules.check_service_alarms(broken, roster.NAMES) == [
        "sender: no MemoryUtilization alarm"
    ]


def test_the_database_has_cpu_storage_and_connection_alarms(prod: Built) -> None:
    assert rules.check_database_alarms(prod.resources) == []
    storage = alarm(prod, "db-free-storage").inputs
    assert storage["comparisonOperator"] == "LessThanThreshold"
    assert storage["threshold"] == 2 * 1024**3


def test_a_database_alarm_on_another_instance_is_reported(prod: Built) -> None:
    broken = prod.broken(
        "alerting-alarms-db-connections",
        rules.ALARM,
        lambda i: i.update(dimensions={"DBInstanceIdentifier": "some-other-db"}),
    )
    (db,) = rules.of_type(prod.resources, rules.RDS)
    assert rules.check_database_alarms(broken) == [
        f"database {db.outputs['identifier']}: no DatabaseConnections alarm"
    ]


def test_the_sender_failed_alarm_reads_the_senders_log(prod: Built) -> None:
    log_group = sender_log_group(prod)
    assert rules.check_sender_failed_alarm(prod.resources, log_group) == []
    (metric_filter,) = rules.of_type(prod.resources, rules.METRIC_FILTER)
    assert metric_filter.inputs["pattern"] == SENDER_FAILED_PATTERN
    assert metric_filter.inputs["metricTransformation"]["value"] == "$.failed"
    failed = alarm(prod, "sender-failed").inputs
    assert (failed["statistic"], failed["threshold"]) == ("Sum", 10)


def test_a_metric_filter_on_another_log_group_is_reported(prod: Built) -> None:
    (metric_filter,) = rules.of_type(prod.resources, rules.METRIC_FILTER)
    broken = prod.broken(
        metric_filter.name, rules.METRIC_FILTER, lambda i: i.update(logGroupName="/other")
    )
    assert rules.check_sender_failed_alarm(broken, sender_log_group(prod)) == [
        "no metric filter on the sender's FAILED log lines"
    ]


def test_every_alarm_notifies_the_topic(prod: Built) -> None:
    assert rules.check_alarm_actions(prod.resources) == []


def test_an_alarm_without_actions_is_reported(prod: Built) -> None:
    broken = prod.broken("alerting-alarms-db-cpu", rules.ALARM, lambda i: i.pop("okActions"))
    assert rules.check_alarm_actions(broken) == [
        f"alerting-alarms-db-cpu: okActions None != {[topic_arn(prod)]}"
    ]


def topic_arn(prod: Built) -> str:
    return str(prod.named("alerting-alarms-topic", rules.TOPIC).outputs["arn"])


def test_the_configured_address_is_subscribed_to_the_topic() -> None:
    email = "oncall@acme.example"
    built = Built({"alerting:alarmEmail": email})
    arn = str(built.named("alerting-alarms-topic", rules.TOPIC).outputs["arn"])
    assert rules.subscriptions(built.resources) == [(arn, "email", email)]


def test_the_prod_file_subscribes_no_placeholder_address(prod: Built) -> None:
    """Pulumi.prod.yaml leaves alarmEmail out: an address nobody reads would get a
    confirmation mail on every deploy and never confirm. The topic still has its alarms."""
    assert "alerting:alarmEmail" not in prod_config()
    assert rules.subscriptions(prod.resources) == []
    assert rules.check_alarm_actions(prod.resources) == []


def test_an_empty_address_subscribes_nothing() -> None:
    built = Built({"alerting:alarmEmail": ""})
    assert rules.subscriptions(built.resources) == []
    assert rules.check_alarm_actions(built.resources) == []


def test_a_malformed_alarm_address_is_refused() -> None:
    raw = {k.removeprefix("alerting:"): v for k, v in prod_config().items()}
    with pytest.raises(ConfigError, match="alerting:alarmEmail must be an e-mail address"):
        parse({**raw, "alarmEmail": "oncall"}, REGION)
