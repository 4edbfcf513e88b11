"""The alarms (components/alarms.py) in moto: SNS topic and subscription, the log metric
filter and the CloudWatch metric alarms."""

from __future__ import annotations

from typing import Any

from tests.infra.moto_mocks.common import Ctx, drop_none, physical_name


def topic(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    arn = ctx.client("sns").create_topic(Name=physical_name(name, i, 256))["TopicArn"]
    return arn, {"arn": arn}


def subscription(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    created = ctx.client("sns").subscribe(
        TopicArn=i["topic"], Protocol=i["protocol"], Endpoint=i["endpoint"]
    )
    return created["SubscriptionArn"], {"arn": created["SubscriptionArn"]}


def metric_filter(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    fname = physical_name(name, i, 512)
    t = i["metricTransformation"]
    ctx.client("logs").put_metric_filter(
        logGroupName=i["logGroupName"],
        filterName=fname,
        filterPattern=i["pattern"],
        metricTransformations=[
            drop_none(
                {
                    "metricNamespace": t["namespace"],
                    "metricName": t["name"],
                    "metricValue": t["value"],
                    "unit": t.get("unit"),
                }
            )
        ],
    )
    return fname, {"name": fname}


def metric_alarm(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    alarm = physical_name(name, i, 255)
    ctx.client("cloudwatch").put_metric_alarm(
        **drop_none(
            {
                "AlarmName": alarm,
                "AlarmDescription": i.get("alarmDescription"),
                "Namespace": i["namespace"],
                "MetricName": i["metricName"],
                "Dimensions": [
                    {"Name": k, "Value": v} for k, v in (i.get("dimensions") or {}).items()
                ],
                "Statistic": i["statistic"],
                "Period": int(i["period"]),
                "EvaluationPeriods": int(i["evaluationPeriods"]),
                "Threshold": float(i["threshold"]),
                "ComparisonOperator": i["comparisonOperator"],
                "TreatMissingData": i.get("treatMissingData"),
                "AlarmActions": i.get("alarmActions"),
                "OKActions": i.get("okActions"),
            }
        )
    )
    arn = f"arn:aws:cloudwatch:{ctx.region}:123456789012:alarm:{alarm}"
    return alarm, {"arn": arn, "name": alarm}


HANDLERS = {
    "aws:sns/topic:Topic": topic,
    "aws:sns/topicSubscription:TopicSubscription": subscription,
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": metric_filter,
    "aws:cloudwatch/metricAlarm:MetricAlarm": metric_alarm,
}
