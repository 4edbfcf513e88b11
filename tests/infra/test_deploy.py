"""`alerting deploy` against a cluster in moto: real boto3 calls, no time spent waiting.

The cluster mirrors what the stack creates (one ECR repository, a task definition and a
service per platform service, a migration task definition) and the outputs file has
the shape of `pulumi stack output --json`. Only the clock is fast: polls do not sleep.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.ecs import models as ecs_models

from alerting.deploy import cli
from alerting.roster import NAMES as SERVICE_NAMES

REGION = "us-east-1"
CLUSTER = "alerting-test"


def _image(ecr: Any, repo: str, tag: str) -> str:
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"digest": "sha256:" + tag.encode().hex().ljust(64, "0")[:64], "size": 1},
            "layers": [],
        }
    )
    return str(
        ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag=tag)["image"][
            "imageId"
        ]["imageDigest"]
    )


class Cluster:
    def __init__(self, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.ecs = boto3.client("ecs", region_name=REGION)
        self.ecr = boto3.client("ecr", region_name=REGION)
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # as the stack's
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.128.0/20")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="services", Description="s", VpcId=vpc)[
            "GroupId"
        ]
        repo = self.ecr.create_repository(repositoryName="alerting")["repository"]
        self.repo_url = repo["repositoryUri"]
        self.v1 = f"{self.repo_url}@{_image(self.ecr, 'alerting', 'v1')}"
        self.v2_digest = _image(self.ecr, "alerting", "v2")
        self.ecs.create_cluster(clusterName=CLUSTER)
        self._register_host(ec2)
        migrate = self._taskdef(
            "alerting-test-migrate", "migrate", ["sh", "-c"], ["alerting migrate"]
        )
        self.outputs = {
            "region": REGION,
            "clusterName": CLUSTER,
            "serviceNames": {name: name for name in SERVICE_NAMES},
            "ecrRepositoryUrl": self.repo_url,
            "migrationTaskDefinitionArn": migrate,
            "privateSubnetIds": [subnet],
            "servicesSecurityGroupId": group,
            "apiUrl": "https://api.example",
        }
        self.outputs_file = tmp / "outputs.json"
        self.outputs_file.write_text(json.dumps(self.outputs))
        self.network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}

    def _register_host(self, ec2: Any) -> None:
        instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]
        document = {
            "instanceId": instance["InstanceId"],
            "region": REGION,
            "availabilityZone": f"{REGION}a",
            "accountId": "123456789012",
            "instanceType": "m5.large",
            "imageId": "ami-12c6146b",
            "privateIp": "10.0.128.10",
        }
        self.ecs.register_container_instance(
            cluster=CLUSTER, instanceIdentityDocument=json.dumps(document)
        )

    def _taskdef(self, family: str, name: str, entry: list[str], command: list[str]) -> str:
        td = self.ecs.register_task_definition(
            family=family,
            networkMode="awsvpc",
            requiresCompatibilities=["EC2"],
            cpu="256",
            memory="512",
            containerDefinitions=[
                {
                    "name": name,
                    "image": self.v1,
                    "entryPoint": entry,
                    "command": command,
                    "essential": True,
                    # moto places EC2 tasks by container-level memory (AWS also accepts
                    # task-level memory alone, as the stack declares it).
                    "memory": 512,
                },
            ],
        )
        return str(td["taskDefinition"]["taskDefinitionArn"])

    def create_services(self, running: dict[str, int]) -> None:
        """One service per platform service; `running` is moto's running count for each."""
        for name in SERVICE_NAMES:
            self.monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", str(running.get(name, 1)))
            self.ecs.create_service(
                cluster=CLUSTER,
                serviceName=name,
                taskDefinition=self._taskdef(f"alerting-test-{name}", name, ["alerting"], [name]),
                desiredCount=1,
                networkConfiguration=self.network,
            )

    def service(self, name: str) -> dict[str, Any]:
        return dict(self.ecs.describe_services(cluster=CLUSTER, services=[name])["services"][0])

    def image_of(self, task_definition: str) -> str:
        td = self.ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
        return str(td["containerDefinitions"][0]["image"])


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setattr("alerting.deploy.waiting.time.sleep", lambda _: None)
    with mock_aws():
        yield Cluster(tmp_path, monkeypatch)


def deploy(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="alerting deploy")
    cli.configure(parser)
    return cli.run(parser.parse_args(list(argv)))


def test_rollout_moves_every_service_to_a_new_revision_of_the_new_image(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster.create_services(running={})
    code = deploy("rollout", "--outputs", str(cluster.outputs_file), "--tag", "v2", "--poll", "0")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "all services stable" in out
    for name in SERVICE_NAMES:
        svc = cluster.service(name)
        assert svc["taskDefinition"].endswith(f"alerting-test-{name}:2")
        assert cluster.image_of(svc["taskDefinition"]) == f"{cluster.repo_url}@{cluster.v2_digest}"
        assert f"STABLE    {name}" in out


def test_rollout_reports_the_service_that_does_not_stabilise_by_name(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster.create_services(running={"sender": 0})  # sender's tasks never come up
    code = deploy(
        "rollout",
        "--outputs",
        str(cluster.outputs_file),
        "--tag",
        "v2",
        "--timeout",
        "0.2",
        "--poll",
        "0",
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "did not stabilise: sender" in captured.err
    assert "TIMED_OUT sender" in captured.out
    for name in set(SERVICE_NAMES) - {"sender"}:
        assert f"STABLE    {name}" in captured.out
    # The unstable service was still updated; ECS (and its circuit breaker) owns it now.
    assert cluster.service("sender")["taskDefinition"].endswith(":2")


def test_rollout_of_an_unknown_tag_changes_nothing(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster.create_services(running={})
    assert deploy("rollout", "--outputs", str(cluster.outputs_file), "--tag", "nope") == 2
    assert "no image tagged 'nope'" in capsys.readouterr().err
    assert cluster.service("ingest")["taskDefinition"].endswith(":1")


def test_migration_success_runs_the_new_image(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    code = deploy("migrate", "--outputs", str(cluster.outputs_file), "--tag", "v2", "--poll", "0")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "completed (exit code 0)" in out
    (task,) = cluster.ecs.list_tasks(cluster=CLUSTER, family="alerting-test-migrate")["taskArns"]
    described = cluster.ecs.describe_tasks(cluster=CLUSTER, tasks=[task])["tasks"][0]
    assert cluster.image_of(described["taskDefinitionArn"]).endswith(cluster.v2_digest)


def test_a_failing_migration_is_reported_with_its_exit_code(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # moto runs every container to exit code 0; make this one fail as `alerting migrate` would.
    real_init = ecs_models.Container.__init__

    def failing(self: Any, task_def: Any) -> None:
        real_init(self, task_def)
        self.exitCode = 3

    monkeypatch.setattr(ecs_models.Container, "__init__", failing)
    code = deploy("migrate", "--outputs", str(cluster.outputs_file), "--poll", "0")
    err = capsys.readouterr().err
    assert code == 1
    assert "failed: exit code 3: migrate exited with 3" in err


def test_status_reports_every_service_from_the_pulumi_cli(
    cluster: Cluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster.create_services(running={})
    fake = tmp_path / "bin" / "pulumi"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        "[ \"$*\" = 'stack output --json --stack prod' ] || exit 9\n"
        f"cat {cluster.outputs_file}\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    assert deploy("status", "--stack", "prod") == 0
    out = capsys.readouterr().out
    assert "https://api.example" in out
    for name in SERVICE_NAMES:
        assert f"\n{name} " in out
    assert deploy("status", "--stack", "prod", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert {s["service"] for s in report["services"] if s["steady"]} == set(SERVICE_NAMES)


def test_missing_outputs_are_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "outputs.json"
    broken.write_text(json.dumps({"clusterName": "x"}))
    assert deploy("status", "--outputs", str(broken)) == 2
    assert "stack outputs lack" in capsys.readouterr().err
