"""Pulumi mocks that record every resource and answer with plausible computed outputs.

The provider would compute ARNs, endpoints and generated names; the program reads
several of them (an RDS secret ARN, a repository URL, an image digest), so the mocks
must return them or the program's `apply` bodies would see None.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pulumi

from tests.infra.harness import Recorded
from tests.infra.moto_mocks.common import unwrap_secrets

ACCOUNT = "123456789012"
REGION = "us-east-1"


def _short(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:8]


def computed_outputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Outputs the AWS/Docker providers would add to the inputs."""
    physical = inputs.get("name") or f"{name}-{_short(name)}"
    service = typ.split(":")[1].split("/")[0]
    out: dict[str, Any] = {
        "name": physical,
        "arn": f"arn:aws:{service}:{REGION}:{ACCOUNT}:{typ.split(':')[-1].lower()}/{physical}",
    }
    if typ == "aws:rds/instance:Instance":
        out |= {
            "identifier": inputs.get("identifier") or physical,
            "address": f"{physical}.abc.{REGION}.rds.amazonaws.com",
            "port": 5432,
            "masterUserSecrets": [
                {
                    "secretArn": (
                        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-{_short(name)}"
                    ),
                    "secretStatus": "active",
                    "kmsKeyId": "alias/aws/secretsmanager",
                }
            ],
        }
    elif typ == "aws:elasticache/replicationGroup:ReplicationGroup":
        out["primaryEndpointAddress"] = f"master.{physical}.abc.use1.cache.amazonaws.com"
    elif typ == "aws:ecr/repository:Repository":
        out |= {
            "registryId": ACCOUNT,
            "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{physical}",
        }
    elif typ == "docker:index/image:Image":
        repo = str(inputs["imageName"]).rsplit(":", 1)[0]
        out["repoDigest"] = f"{repo}@sha256:{hashlib.sha256(repo.encode()).hexdigest()}"
    elif typ == "aws:ecs/taskDefinition:TaskDefinition":
        out |= {
            "revision": 1,
            "arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{inputs['family']}:1",
        }
    elif typ == "aws:apigatewayv2/api:Api":
        out["apiEndpoint"] = f"https://{_short(name)}.execute-api.{REGION}.amazonaws.com"
    elif typ == "aws:msk/cluster:Cluster":
        out["bootstrapBrokersTls"] = f"b-1.{physical}.kafka.{REGION}.amazonaws.com:9094"
    elif typ == "aws:msk/configuration:Configuration":
        out["latestRevision"] = 1
    return out


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[Recorded] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        inputs = unwrap_secrets(dict(args.inputs))
        outputs = dict(args.inputs) | computed_outputs(args.typ, args.name, inputs)
        rid = f"{args.name}-id"
        if args.typ == "aws:ecs/service:Service":
            rid = outputs["name"]
        self.resources.append(Recorded(args.typ, args.name, rid, inputs, outputs))
        return rid, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
        # An empty failure list, not None: the mock monitor iterates it.
        return invoke_result(args.token, args.args), []


def invoke_result(token: str, args: dict[str, Any]) -> dict[str, Any]:
    if token == "aws:ssm/getParameter:getParameter":
        return {"name": args["name"], "type": "String", "value": "ami-0123456789abcdef0"}
    if token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
        return {
            "userName": "AWS",
            "password": "ecr-password",
            "authorizationToken": "QVdTOmVjci1wYXNzd29yZA==",
            "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
        }
    if token == "aws:ecr/getImage:getImage":
        return {"imageDigest": "sha256:" + "ab" * 32, "imageTags": [args.get("imageTag")]}
    raise NotImplementedError(f"no mock for invoke {token}")
