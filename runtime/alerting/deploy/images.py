"""Image references and new task-definition revisions carrying them."""

from __future__ import annotations

from typing import Any

from alerting.deploy.outputs import DeployError

# What RegisterTaskDefinition accepts from a DescribeTaskDefinition result.
_REGISTERABLE = (
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
)


def resolve_image(ecr: Any, repository_url: str, tag: str) -> str:
    """`repo@sha256:...` for a pushed tag: deploy by digest so the tag cannot move under us."""
    repository = repository_url.split("/", 1)[1]
    try:
        found = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
    except ecr.exceptions.ImageNotFoundException:
        raise DeployError(f"no image tagged {tag!r} in {repository_url}; push it first") from None
    return f"{repository_url}@{found['imageDetails'][0]['imageDigest']}"


def is_platform_image(image: str, repository_url: str) -> bool:
    return image.startswith((f"{repository_url}@", f"{repository_url}:")) or image == repository_url


def register_revision(ecs: Any, task_definition: str, image: str, repository_url: str) -> str:
    """Register a copy of `task_definition` whose platform containers run `image`."""
    described = ecs.describe_task_definition(taskDefinition=task_definition, include=["TAGS"])
    current = described["taskDefinition"]
    spec = {k: current[k] for k in _REGISTERABLE if current.get(k)}
    replaced = 0
    for container in spec["containerDefinitions"]:
        if is_platform_image(container.get("image", ""), repository_url):
            container["image"] = image
            replaced += 1
    if not replaced:
        raise DeployError(f"{current['family']} runs no image from {repository_url}")
    if described.get("tags"):
        spec["tags"] = described["tags"]
    registered = ecs.register_task_definition(**spec)["taskDefinition"]
    return str(registered["taskDefinitionArn"])
