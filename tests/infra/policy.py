"""Security and sizing rules for a recorded stack, as pure functions returning violations.

Each checker takes the resources the mocks recorded (camelCase inputs, as the provider
would receive them) and returns human-readable violations; an empty list means the rule
holds. The tests run every checker on the real prod stack (expecting nothing) and on a
deliberately broken copy (expecting the violation), so no rule can pass vacuously.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tests.infra.harness import Recorded

SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"
ASSOC = "aws:ec2/routeTableAssociation:RouteTableAssociation"
IGW = "aws:ec2/internetGateway:InternetGateway"
RDS = "aws:rds/instance:Instance"
RDS_SUBNETS = "aws:rds/subnetGroup:SubnetGroup"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
REDIS_SUBNETS = "aws:elasticache/subnetGroup:SubnetGroup"
TASKDEF = "aws:ecs/taskDefinition:TaskDefinition"
ECS_SERVICE = "aws:ecs/service:Service"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SCALING_TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
ASG = "aws:autoscaling/group:Group"
LB = "aws:lb/loadBalancer:LoadBalancer"
EFS = "aws:efs/fileSystem:FileSystem"
EFS_MOUNT = "aws:efs/mountTarget:MountTarget"
VPC_LINK = "aws:apigatewayv2/vpcLink:VpcLink"

DATA_PORTS = {5432: "Postgres", 6379: "Redis", 9092: "Kafka", 9094: "Kafka TLS"}
OPEN_CIDRS = {"0.0.0.0/0", "::/0"}
# Third-party images a task may run (pinned); everything else must be the platform image.
THIRD_PARTY_IMAGES = {"apache/kafka:3.9.1"}
# One-off jobs (judged by exit code, no health check): the migration and secrets tasks.
ONE_OFF_FAMILY_SUFFIXES = ("-migrate", "-secrets")


@dataclass(frozen=True)
class Rule:
    group_id: str
    from_port: int
    to_port: int
    protocol: str
    cidrs: tuple[str, ...]
    source_group: str | None
    where: str


def of_type(resources: Iterable[Recorded], typ: str) -> list[Recorded]:
    return [r for r in resources if r.typ == typ]


def ingress_rules(resources: Sequence[Recorded]) -> list[Rule]:
    """Every inbound rule, whichever of the three AWS-provider styles declared it."""
    rules: list[Rule] = []
    for r in of_type(resources, INGRESS):
        i = r.inputs
        rules.append(
            Rule(
                group_id=i["securityGroupId"],
                from_port=int(i.get("fromPort", 0)),
                to_port=int(i.get("toPort", 65535)),
                protocol=str(i["ipProtocol"]),
                cidrs=tuple(c for c in (i.get("cidrIpv4"), i.get("cidrIpv6")) if c),
                source_group=i.get("referencedSecurityGroupId"),
                where=r.name,
            )
        )
    for r in of_type(resources, SG):
        for n, i in enumerate(r.inputs.get("ingress") or []):
            for source in i.get("securityGroups") or [None]:
                rules.append(
                    Rule(
                        group_id=r.id,
                        from_port=int(i.get("fromPort", 0)),
                        to_port=int(i.get("toPort", 65535)),
                        protocol=str(i.get("protocol", "tcp")),
                        cidrs=tuple((i.get("cidrBlocks") or []) + (i.get("ipv6CidrBlocks") or [])),
                        source_group=source,
                        where=f"{r.name}.ingress[{n}]",
                    )
                )
    for r in of_type(resources, LEGACY_RULE):
        i = r.inputs
        if i.get("type") == "ingress":
            rules.append(
                Rule(
                    group_id=i["securityGroupId"],
                    from_port=int(i.get("fromPort", 0)),
                    to_port=int(i.get("toPort", 65535)),
                    protocol=str(i.get("protocol", "tcp")),
                    cidrs=tuple(i.get("cidrBlocks") or []),
                    source_group=i.get("sourceSecurityGroupId"),
                    where=r.name,
                )
            )
    return rules


def _covers(rule: Rule, port: int) -> bool:
    return rule.protocol in ("-1", "all") or rule.from_port <= port <= rule.to_port


def check_data_store_ports(resources: Sequence[Recorded], services_sg: str) -> list[str]:
    """Postgres, Redis and Kafka ports admit only the services' security group."""
    problems = []
    for rule in ingress_rules(resources):
        for port, what in DATA_PORTS.items():
            if _covers(rule, port) and (rule.cidrs or rule.source_group != services_sg):
                source = ", ".join(rule.cidrs) or rule.source_group
                problems.append(f"{rule.where}: {what} port {port} open to {source}")
    return problems


def public_subnets(resources: Sequence[Recorded]) -> set[str]:
    """Subnets whose route table sends traffic to an internet gateway, or auto-assign IPs."""
    igws = {r.id for r in of_type(resources, IGW)}
    tables = {
        r.inputs["routeTableId"]
        for r in of_type(resources, ROUTE)
        if r.inputs.get("gatewayId") in igws
    }
    public = {
        r.inputs["subnetId"]
        for r in of_type(resources, ASSOC)
        if r.inputs["routeTableId"] in tables
    }
    public |= {r.id for r in of_type(resources, SUBNET) if r.inputs.get("mapPublicIpOnLaunch")}
    return public


def _placements(resources: Sequence[Recorded]) -> list[tuple[str, list[str]]]:
    """(resource, subnets) for everything that puts network interfaces somewhere."""
    out: list[tuple[str, list[str]]] = []
    for r in of_type(resources, ECS_SERVICE):
        out.append((r.name, list(r.inputs.get("networkConfiguration", {}).get("subnets", []))))
    for r in of_type(resources, ASG):
        out.append((r.name, list(r.inputs.get("vpcZoneIdentifiers", []))))
    for typ in (RDS_SUBNETS, REDIS_SUBNETS, VPC_LINK):
        out += [(r.name, list(r.inputs.get("subnetIds", []))) for r in of_type(resources, typ)]
    out += [(r.name, [r.inputs["subnetId"]]) for r in of_type(resources, EFS_MOUNT)]
    return out


def check_public_exposure(resources: Sequence[Recorded], gateway_sgs: set[str]) -> list[str]:
    """Only the gateway faces 0.0.0.0/0; nothing else is in a public subnet or has a public IP."""
    problems = [
        f"{rule.where}: open to {', '.join(sorted(set(rule.cidrs) & OPEN_CIDRS))}"
        for rule in ingress_rules(resources)
        if set(rule.cidrs) & OPEN_CIDRS and rule.group_id not in gateway_sgs
    ]
    public = public_subnets(resources)
    for name, subnets in _placements(resources):
        if not subnets:
            problems.append(f"{name}: no subnets given (would default to public ones)")
        problems += [f"{name}: placed in public subnet {s}" for s in subnets if s in public]
    for r in of_type(resources, ECS_SERVICE):
        if r.inputs.get("networkConfiguration", {}).get("assignPublicIp"):
            problems.append(f"{r.name}: tasks get public IPs")
    for r in of_type(resources, RDS):
        if r.inputs.get("publiclyAccessible"):
            problems.append(f"{r.name}: RDS instance is publicly accessible")
    for r in of_type(resources, LB):
        if (
            not r.inputs.get("internal")
            and not set(r.inputs.get("securityGroups", [])) <= gateway_sgs
        ):
            problems.append(f"{r.name}: internet-facing load balancer outside the gateway")
    return problems


def check_data_stores(resources: Sequence[Recorded]) -> list[str]:
    """RDS and ElastiCache (and Kafka's EFS) are encrypted, private and authenticated."""
    problems = []
    rds = of_type(resources, RDS)
    redis = of_type(resources, REDIS)
    if not rds or not redis:
        problems.append("the stack has no RDS instance or no ElastiCache replication group")
    for r in rds:
        i = r.inputs
        if not i.get("storageEncrypted"):
            problems.append(f"{r.name}: RDS storage not encrypted")
        if i.get("publiclyAccessible"):
            problems.append(f"{r.name}: RDS publicly accessible")
        if not i.get("dbSubnetGroupName"):
            problems.append(f"{r.name}: RDS without a (private) subnet group")
        if int(i.get("backupRetentionPeriod", 0)) < 1:
            problems.append(f"{r.name}: RDS automated backups disabled")
        if i.get("password") or not i.get("manageMasterUserPassword"):
            problems.append(f"{r.name}: RDS master password not managed in Secrets Manager")
    for r in redis:
        i = r.inputs
        if not i.get("atRestEncryptionEnabled"):
            problems.append(f"{r.name}: Redis not encrypted at rest")
        if not i.get("transitEncryptionEnabled"):
            problems.append(f"{r.name}: Redis without TLS in transit")
        if not i.get("authToken"):
            problems.append(f"{r.name}: Redis without an auth token")
        if not i.get("subnetGroupName"):
            problems.append(f"{r.name}: Redis without a (private) subnet group")
    problems += [
        f"{r.name}: EFS not encrypted"
        for r in of_type(resources, EFS)
        if not r.inputs.get("encrypted")
    ]
    return problems


def containers(taskdef: Recorded) -> list[dict[str, Any]]:
    return json.loads(taskdef.inputs["containerDefinitions"])


def _runs_alerting(c: Mapping[str, Any]) -> bool:
    argv = list(c.get("entryPoint") or []) + list(c.get("command") or [])
    return bool(argv) and (argv[0] == "alerting" or any("alerting " in a for a in argv))


def check_task_definitions(
    resources: Sequence[Recorded],
    image_ref: str,
    secret_names: frozenset[str],
    secret_values: Iterable[str],
) -> list[str]:
    """One image, a log group with retention, a health check, and no secret in plain env."""
    problems = []
    groups = {r.inputs.get("name"): r for r in of_type(resources, LOG_GROUP)}
    taskdefs = of_type(resources, TASKDEF)
    if not taskdefs:
        problems.append("the stack has no task definitions")
    for td in taskdefs:
        family = td.inputs["family"]
        raw = td.inputs["containerDefinitions"]
        for value in secret_values:
            if value in raw:
                problems.append(f"{family}: a secret value appears in the task definition")
        for c in containers(td):
            where = f"{family}/{c.get('name')}"
            if _runs_alerting(c) and c.get("image") != image_ref:
                problems.append(f"{where}: runs {c.get('image')}, not the platform image")
            if not _runs_alerting(c) and c.get("image") not in THIRD_PARTY_IMAGES:
                problems.append(f"{where}: unexpected image {c.get('image')}")
            log = c.get("logConfiguration") or {}
            group = log.get("options", {}).get("awslogs-group")
            if log.get("logDriver") != "awslogs" or group not in groups:
                problems.append(f"{where}: no CloudWatch log group")
            elif not groups[group].inputs.get("retentionInDays"):
                problems.append(f"{where}: log group {group} keeps logs forever")
            if not family.endswith(ONE_OFF_FAMILY_SUFFIXES) and not c.get("healthCheck"):
                problems.append(f"{where}: no health check")
            plain = {e["name"] for e in c.get("environment") or []}
            problems += [
                f"{where}: secret {n} in plain environment" for n in sorted(plain & secret_names)
            ]
            for s in c.get("secrets") or []:
                if not str(s.get("valueFrom", "")).startswith("arn:aws:secretsmanager:"):
                    problems.append(f"{where}: secret {s.get('name')} not from Secrets Manager")
    return problems


@dataclass(frozen=True)
class Bounds:
    desired: int
    min: int
    max: int


def check_scaling(resources: Sequence[Recorded], expected: Mapping[str, Bounds]) -> list[str]:
    """Each service's desired count, scaling bounds and policies are what the config says."""
    problems = []
    services = {r.inputs.get("name"): r for r in of_type(resources, ECS_SERVICE)}
    targets = {
        r.inputs["resourceId"].rsplit("/", 1)[-1]: r for r in of_type(resources, SCALING_TARGET)
    }
    policies: dict[str, list[Recorded]] = {}
    for p in of_type(resources, SCALING_POLICY):
        policies.setdefault(p.inputs["resourceId"].rsplit("/", 1)[-1], []).append(p)
    for name, want in expected.items():
        svc, target = services.get(name), targets.get(name)
        if svc is None or target is None:
            problems.append(f"{name}: no ECS service or no scaling target")
            continue
        if int(svc.inputs.get("desiredCount", -1)) != want.desired:
            problems.append(f"{name}: desired {svc.inputs.get('desiredCount')} != {want.desired}")
        got = (int(target.inputs["minCapacity"]), int(target.inputs["maxCapacity"]))
        if got != (want.min, want.max):
            problems.append(f"{name}: scaling bounds {got} != {(want.min, want.max)}")
        metrics = sorted(
            p.inputs["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"][
                "predefinedMetricType"
            ]
            for p in policies.get(name, [])
        )
        wanted = (
            ["ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization"]
            if want.max > want.min
            else []
        )
        if metrics != wanted:
            problems.append(f"{name}: scaling policies {metrics} != {wanted}")
    return problems


def check_rule_updater(resources: Sequence[Recorded], max_instances: int) -> list[str]:
    """rule-updater: at most `max_instances` tasks, fixed count, never autoscaled."""
    problems = []
    svc = [r for r in of_type(resources, ECS_SERVICE) if r.inputs.get("name") == "rule-updater"]
    targets = [
        r
        for r in of_type(resources, SCALING_TARGET)
        if r.inputs["resourceId"].endswith("/rule-updater")
    ]
    if len(svc) != 1 or len(targets) != 1:
        return ["rule-updater: expected one ECS service and one scaling target"]
    desired = int(svc[0].inputs.get("desiredCount", 0))
    lo, hi = int(targets[0].inputs["minCapacity"]), int(targets[0].inputs["maxCapacity"])
    if not 1 <= desired <= max_instances or hi > max_instances or lo != hi:
        problems.append(
            f"rule-updater: desired={desired} min={lo} max={hi}; "
            f"must be a fixed count <= {max_instances}"
        )
    if any(
        p.inputs["resourceId"].endswith("/rule-updater") for p in of_type(resources, SCALING_POLICY)
    ):
        problems.append("rule-updater: has autoscaling policies")
    return problems


def check_exports(exports: Mapping[str, Any], required: Iterable[str]) -> list[str]:
    """Every export exists and has a value."""
    return [
        f"export {k} missing or empty" for k in required if exports.get(k) in (None, "", [], {})
    ]
