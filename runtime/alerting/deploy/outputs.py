"""The stack outputs the deploy tooling works from (`pulumi stack output --json`).

The tooling never guesses resource names: the cluster, services, repository, migration
task and its network all come from the Pulumi stack that created them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class DeployError(Exception):
    """A deployment step cannot proceed; the message says why and what to check."""


@dataclass(frozen=True)
class StackOutputs:
    region: str
    cluster: str
    services: Mapping[str, str]  # platform service -> ECS service name
    repository_url: str
    migration_task_definition: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    raw: Mapping[str, Any]

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> StackOutputs:
        required = (
            "region",
            "clusterName",
            "serviceNames",
            "ecrRepositoryUrl",
            "migrationTaskDefinitionArn",
            "privateSubnetIds",
            "servicesSecurityGroupId",
        )
        missing = [k for k in required if not raw.get(k)]
        if missing:
            raise DeployError(f"stack outputs lack {', '.join(missing)}; is this the right stack?")
        return cls(
            region=str(raw["region"]),
            cluster=str(raw["clusterName"]),
            services={str(k): str(v) for k, v in dict(raw["serviceNames"]).items()},
            repository_url=str(raw["ecrRepositoryUrl"]),
            migration_task_definition=str(raw["migrationTaskDefinitionArn"]),
            subnets=tuple(str(s) for s in raw["privateSubnetIds"]),
            security_groups=(str(raw["servicesSecurityGroupId"]),),
            raw=raw,
        )


def load(path: str | None, stack: str | None, cwd: str | None = None) -> StackOutputs:
    """Read outputs from a JSON file ('-' is stdin), or ask the Pulumi CLI for them."""
    if path == "-":
        return StackOutputs.parse(json.load(sys.stdin))
    if path:
        return StackOutputs.parse(json.loads(Path(path).read_text()))
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise DeployError("the pulumi CLI is not on PATH; pass --outputs FILE instead")
    command = [pulumi, "stack", "output", "--json"]
    if stack:
        command += ["--stack", stack]
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False)  # noqa: S603
    if done.returncode != 0:
        raise DeployError(f"`{' '.join(command[1:])}` failed: {done.stderr.strip()}")
    return StackOutputs.parse(json.loads(done.stdout))
