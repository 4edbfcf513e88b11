"""The prod stack "deployed" into moto, then inspected with plain boto3 calls.

Every resource went through boto3 (so botocore validated each parameter against the AWS
API model) and moto (which checks cross-references). These tests read the result the
way an operator would read a real account.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from alerting.roster import NAMES as SERVICE_NAMES
from tests.infra.harness import SECRETS, build_stack, prod_config
from tests.infra.moto_mocks import MotoMocks

# In its own process, after the parallel run: in a worker that ran other files first, the
# stack's moto routing (werkzeug compiles its URL rules with ast.parse) once failed with
# CPython 3.11's "AST constructor recursion depth mismatch" SystemError, a state left by
# an earlier test in that interpreter, not by this code.
pytestmark = pytest.mark.alone


REGION = "us-east-1"


class Deployed:
    def __init__(self, exports: dict[str, Any], mocks: MotoMocks) -> None:
        self.exports = exports
        self.mocks = mocks

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION)


ONCALL = "oncall@acme.example"


@pytest.fixture(scope="module")
def deployed() -> Iterator[Deployed]:
    with pytest.MonkeyPatch.context() as env:
        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
            "MOTO_ECS_SERVICE_RUNNING": "1",
        }.items():
            env.setenv(key, value)
        with mock_aws():
            mocks = MotoMocks(REGION)
            # The prod file leaves the alarm address out (a placeholder would never
            # confirm); an operator's is set here to deploy its subscription too.
            config = prod_config({"alerting:alarmEmail": ONCALL})
            yield Deployed(build_stack(mocks, config), mocks)


def test_every_declared_resource_went_through_boto3(deployed: Deployed) -> None:
    kinds = {typ for typ, _, _ in deployed.mocks.created}
    for required in (
        "aws:ec2/vpc:Vpc",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ecs/cluster:Cluster",
        "aws:ecs/taskDefinition:TaskDefinition",
        "aws:ecs/service:Service",
        "aws:ecr/repository:Repository",
        "aws:rds/instance:Instance",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:secretsmanager/secret:Secret",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:appautoscaling/target:Target",
    ):
        assert required in kinds


def _private_and_public(deployed: Deployed) -> tuple[set[str], set[str]]:
    ec2 = deployed.client("ec2")
    private = set(deployed.exports["privateSubnetIds"])
    vpc_id = ec2.describe_subnets(SubnetIds=sorted(private))["Subnets"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    return private, {s["SubnetId"] for s in subnets} - private


def test_private_subnets_route_through_nat_public_ones_through_the_igw(deployed: Deployed) -> None:
    ec2 = deployed.client("ec2")
    private, public = _private_and_public(deployed)
    assert len(private) == 2 and len(public) == 2
    for subnet in private | public:
        (table,) = ec2.describe_route_tables(
            Filters=[{"Name": "association.subnet-id", "Values": [subnet]}]
        )["RouteTables"]
        default = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
        assert len(default) == 1
        if subnet in private:
            assert default[0].get("NatGatewayId", "").startswith("nat-")
        else:
            assert default[0].get("GatewayId", "").startswith("igw-")


def test_no_security_group_admits_the_internet_and_data_ports_admit_only_services(
    deployed: Deployed,
) -> None:
    ec2 = deployed.client("ec2")
    services_sg = deployed.exports["servicesSecurityGroupId"]
    vpc_id = ec2.describe_security_groups(GroupIds=[services_sg])["SecurityGroups"][0]["VpcId"]
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    data_ports = {5432, 6379, 9092}
    seen_ports = set()
    for group in groups["SecurityGroups"]:
        for perm in group["IpPermissions"]:
            assert not perm.get("IpRanges") and not perm.get("Ipv6Ranges"), group["GroupName"]
            if perm.get("FromPort") in data_ports:
                seen_ports.add(perm["FromPort"])
                assert [p["GroupId"] for p in perm["UserIdGroupPairs"]] == [services_sg]
    assert seen_ports == data_ports


def test_rds_is_private_encrypted_backed_up_with_a_managed_secret(deployed: Deployed) -> None:
    (db,) = deployed.client("rds").describe_db_instances()["DBInstances"]
    assert db["Engine"] == "postgres" and db["EngineVersion"].startswith("15")
    assert db["StorageEncrypted"] and not db["PubliclyAccessible"]
    assert db["BackupRetentionPeriod"] == 7 and db["DeletionProtection"]
    subnets = {s["SubnetIdentifier"] for s in db["DBSubnetGroup"]["Subnets"]}
    assert subnets == set(deployed.exports["privateSubnetIds"])
    secret_arn = db["MasterUserSecret"]["SecretArn"]
    deployed.client("secretsmanager").describe_secret(SecretId=secret_arn)
    assert deployed.exports["databaseEndpoint"] == f"{db['Endpoint']['Address']}:5432"


def test_redis_is_private_encrypted_and_authenticated(deployed: Deployed) -> None:
    cache = deployed.client("elasticache")
    (group,) = cache.describe_replication_groups()["ReplicationGroups"]
    assert group["TransitEncryptionEnabled"] and group["AtRestEncryptionEnabled"]
    assert group["AuthTokenEnabled"]
    (subnet_group,) = cache.describe_cache_subnet_groups()["CacheSubnetGroups"]
    subnets = {s["SubnetIdentifier"] for s in subnet_group["Subnets"]}
    assert subnets == set(deployed.exports["privateSubnetIds"])


def test_secrets_hold_the_configured_values(deployed: Deployed) -> None:
    sm = deployed.client("secretsmanager")
    by_name = {s["Name"]: s["ARN"] for s in sm.list_secrets()["SecretList"]}
    admin = next(arn for name, arn in by_name.items() if "admin-token" in name)
    value = sm.get_secret_value(SecretId=admin)["SecretString"]
    assert value == SECRETS["alerting:adminToken"]


def _readable_by(iam: Any, role_arn: str) -> set[str]:
    """The secret ARNs a role's inline policies let it read."""
    role = role_arn.rsplit("/", 1)[-1]
    found: set[str] = set()
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for statement in document["Statement"]:
            if "secretsmanager:GetSecretValue" in statement["Action"]:
                found |= set(statement["Resource"])
    return found


def test_the_keyring_is_fetched_only_by_the_tasks_that_read_it(deployed: Deployed) -> None:
    sm, iam = deployed.client("secretsmanager"), deployed.client("iam")
    by_name = {s["Name"]: s["ARN"] for s in sm.list_secrets()["SecretList"]}
    keyring = next(arn for name, arn in by_name.items() if "/secret-keys-" in name)
    assert sm.get_secret_value(SecretId=keyring)["SecretString"] == SECRETS["alerting:secretKeys"]
    for name, taskdef in _task_definitions(deployed).items():
        if name not in SERVICE_NAMES:
            continue
        (container,) = taskdef["containerDefinitions"]
        injected = {s["name"]: s["valueFrom"] for s in container["secrets"]}
        may_read = keyring in _readable_by(iam, taskdef["executionRoleArn"])
        holds = name in ("rule-service", "sender")
        assert (injected.get("ALERTING_SECRET_KEYS") == keyring) is holds, name
        assert may_read is holds, name
        assert "ALERTING_SECRET_KEYS" not in {e["name"] for e in container["environment"]}


def _task_definitions(deployed: Deployed) -> dict[str, dict[str, Any]]:
    ecs = deployed.client("ecs")
    cluster = deployed.exports["clusterName"]
    arns = ecs.list_services(cluster=cluster)["serviceArns"]
    services = ecs.describe_services(cluster=cluster, services=arns)["services"]
    return {
        s["serviceName"]: ecs.describe_task_definition(taskDefinition=s["taskDefinition"])[
            "taskDefinition"
        ]
        for s in services
    }


def test_every_service_runs_the_one_image_with_logs_health_and_secret_refs(
    deployed: Deployed,
) -> None:
    logs = deployed.client("logs")
    sm = deployed.client("secretsmanager")
    groups = {g["logGroupName"]: g for g in logs.describe_log_groups()["logGroups"]}
    taskdefs = _task_definitions(deployed)
    assert set(SERVICE_NAMES) <= set(taskdefs)
    assert len(taskdefs) == len(SERVICE_NAMES) + 1  # + the Kafka broker
    for name in SERVICE_NAMES:
        (container,) = taskdefs[name]["containerDefinitions"]
        assert container["image"] == deployed.exports["imageRef"]
        assert container["entryPoint"] + container["command"] == ["alerting", name]
        assert container["healthCheck"]["command"][-1] == name
        group = container["logConfiguration"]["options"]["awslogs-group"]
        assert groups[group]["retentionInDays"] == 7
        env = {e["name"] for e in container["environment"]}
        assert not env & {"ALERTING_ADMIN_TOKEN", "ALERTING_POSTGRES_PASSWORD"}
        for secret in container["secrets"]:
            sm.describe_secret(SecretId=secret["valueFrom"].removesuffix(":password::"))


def test_services_deploy_safely_in_private_subnets(deployed: Deployed) -> None:
    ecs = deployed.client("ecs")
    cluster = deployed.exports["clusterName"]
    names = list(deployed.exports["serviceNames"].values())
    services = ecs.describe_services(cluster=cluster, services=names)["services"]
    assert len(services) == len(SERVICE_NAMES)
    # (moto does not keep deploymentConfiguration; the circuit breaker is asserted on the
    # declared inputs in test_stack_policy.)
    for svc in services:
        vpc = svc["networkConfiguration"]["awsvpcConfiguration"]
        assert vpc["assignPublicIp"] == "DISABLED"
        assert set(vpc["subnets"]) == set(deployed.exports["privateSubnetIds"])
        assert vpc["securityGroups"] == [deployed.exports["servicesSecurityGroupId"]]


def test_autoscaling_targets_match_the_config(deployed: Deployed) -> None:
    aas = deployed.client("application-autoscaling")
    targets = aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    bounds = {
        t["ResourceId"].rsplit("/", 1)[-1]: (t["MinCapacity"], t["MaxCapacity"]) for t in targets
    }
    config = prod_config()["alerting:services"]
    assert bounds == {n: (s["min"], s["max"]) for n, s in config.items()}
    policies = aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    scaled = {p["ResourceId"].rsplit("/", 1)[-1] for p in policies}
    assert scaled == {n for n, s in config.items() if s["max"] > s["min"]}
    assert "rule-updater" not in scaled and bounds["rule-updater"] == (1, 1)


def test_repository_scans_on_push_expires_images_and_holds_the_image(deployed: Deployed) -> None:
    ecr = deployed.client("ecr")
    name = deployed.exports["ecrRepositoryUrl"].split("/", 1)[1]
    (repo,) = ecr.describe_repositories(repositoryNames=[name])["repositories"]
    assert repo["imageScanningConfiguration"]["scanOnPush"]
    assert "expire" in ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"]
    images = ecr.describe_images(repositoryName=name)["imageDetails"]
    assert [i["imageTags"] for i in images] == [["prod"]]
    assert deployed.exports["imageRef"].endswith(images[0]["imageDigest"])


def test_hosts_use_the_ecs_optimized_ami_and_the_cluster_uses_their_capacity(
    deployed: Deployed,
) -> None:
    ami = deployed.client("ssm").get_parameter(
        Name="/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
    )["Parameter"]["Value"]
    (template,) = deployed.client("ec2").describe_launch_template_versions(
        Filters=[], LaunchTemplateId=_launch_template_id(deployed)
    )["LaunchTemplateVersions"]
    data = template["LaunchTemplateData"]
    assert data["ImageId"] == ami
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    (cluster,) = deployed.client("ecs").describe_clusters(
        clusters=[deployed.exports["clusterName"]]
    )["clusters"]
    assert len(cluster["capacityProviders"]) == 1


def _launch_template_id(deployed: Deployed) -> str:
    (group,) = deployed.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    assert group["NewInstancesProtectedFromScaleIn"]
    assert set(group["VPCZoneIdentifier"].split(",")) == set(deployed.exports["privateSubnetIds"])
    return str(group["LaunchTemplate"]["LaunchTemplateId"])


def test_gateway_routes_the_three_apis_through_a_vpc_link(deployed: Deployed) -> None:
    gw = deployed.client("apigatewayv2")
    (api,) = gw.get_apis()["Items"]
    assert deployed.exports["apiUrl"] == api["ApiEndpoint"]
    routes = {r["RouteKey"] for r in gw.get_routes(ApiId=api["ApiId"])["Items"]}
    assert {"ANY /api/v1/alerts", "GET /api/v1/pipeline", "$default"} <= routes
    integrations = gw.get_integrations(ApiId=api["ApiId"])["Items"]
    assert len(integrations) == 3
    assert {i["ConnectionType"] for i in integrations} == {"VPC_LINK"}


def test_alarms_notify_the_exported_topic_and_the_sender_filter_reads_its_log(
    deployed: Deployed,
) -> None:
    topic = deployed.exports["alarmTopicArn"]
    described = deployed.client("cloudwatch").describe_alarms()["MetricAlarms"]
    # The others are the target-tracking policies' own alarms.
    alarms = [a for a in described if a["AlarmName"].startswith("alerting-alarms-")]
    assert len(alarms) == 2 * len(SERVICE_NAMES) + 4
    assert {(tuple(a["AlarmActions"]), tuple(a["OKActions"])) for a in alarms} == {
        ((topic,), (topic,))
    }
    (subscription,) = deployed.client("sns").list_subscriptions_by_topic(TopicArn=topic)[
        "Subscriptions"
    ]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", ONCALL)
    ecs = deployed.client("ecs")
    (service,) = ecs.describe_services(
        cluster=deployed.exports["clusterName"], services=["sender"]
    )["services"]
    (container,) = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])[
        "taskDefinition"
    ]["containerDefinitions"]
    (metric_filter,) = deployed.client("logs").describe_metric_filters()["metricFilters"]
    assert (
        metric_filter["logGroupName"] == container["logConfiguration"]["options"]["awslogs-group"]
    )
    assert metric_filter["metricTransformations"][0]["metricValue"] == "$.failed"
