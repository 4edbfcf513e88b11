"""ServiceImage: the platform's one container image and its ECR repository.

Every service runs from this image (`alerting <service>`). Task definitions reference it
by digest (``repo@sha256:...``), never by tag, so a re-pushed tag cannot silently change
what a running service executes, and rollbacks are exact.

With ``build=True`` (the default) pulumi-docker builds the repository's Dockerfile and
pushes it. With ``build=False`` the stack deploys an image that CI already pushed under
``tag``, resolving its digest from ECR.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from components._common import PKG, child


@dataclass(frozen=True)
class ServiceImageArgs:
    context: str
    dockerfile: str
    tag: str
    build: bool = True
    platform: str = "linux/amd64"
    keep_images: int = 30


def lifecycle_policy(keep_images: int) -> str:
    """Expire untagged layers after a week and keep the newest `keep_images` images."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": "drop untagged images after 7 days",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": 7,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"keep the newest {keep_images} images",
                    "selection": {
                        "tagStatus": "any",
                        "countType": "imageCountMoreThan",
                        "countNumber": keep_images,
                    },
                    "action": {"type": "expire"},
                },
            ]
        }
    )


class ServiceImage(pulumi.ComponentResource):
    repository: aws.ecr.Repository
    repository_url: pulumi.Output[str]
    image_ref: pulumi.Output[str]

    def __init__(
        self, name: str, args: ServiceImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PKG}:ServiceImage", name, None, opts)
        self.repository = aws.ecr.Repository(
            f"{name}",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                scan_on_push=True
            ),
            image_tag_mutability="MUTABLE",
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")
            ],
            force_delete=False,
            opts=child(self),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}",
            repository=self.repository.name,
            policy=lifecycle_policy(args.keep_images),
            opts=child(self),
        )
        self.repository_url = self.repository.repository_url

        if args.build:
            auth = aws.ecr.get_authorization_token_output(registry_id=self.repository.registry_id)
            image = docker.Image(
                f"{name}",
                image_name=pulumi.Output.concat(self.repository_url, ":", args.tag),
                build=docker.DockerBuildArgs(
                    context=args.context,
                    dockerfile=args.dockerfile,
                    platform=args.platform,
                    builder_version=docker.BuilderVersion.BUILDER_BUILD_KIT,
                ),
                registry=docker.RegistryArgs(
                    server=self.repository_url,
                    username=auth.user_name,
                    password=pulumi.Output.secret(auth.password),
                ),
                opts=child(self),
            )
            # repo_digest is "<repository>@sha256:..." once pushed.
            self.image_ref = image.repo_digest
        else:
            found = aws.ecr.get_image_output(
                repository_name=self.repository.name, image_tag=args.tag
            )
            self.image_ref = pulumi.Output.concat(self.repository_url, "@", found.image_digest)

        self.register_outputs({"repositoryUrl": self.repository_url, "imageRef": self.image_ref})
