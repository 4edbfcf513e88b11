"""IAM, ECS (cluster, capacity, task definitions, services), ECR, logs and autoscaling."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from botocore.validate import validate_parameters

from tests.infra.moto_mocks.common import Ctx, drop_none, physical_name, same_named


def role(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rname = physical_name(name, i)
    r = ctx.client("iam").create_role(
        RoleName=rname, AssumeRolePolicyDocument=i["assumeRolePolicy"]
    )
    return rname, {"name": rname, "arn": r["Role"]["Arn"]}


def role_policy_attachment(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ctx.client("iam").attach_role_policy(RoleName=i["role"], PolicyArn=i["policyArn"])
    return f"{i['role']}-{name}", {}


def role_policy(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    pname = physical_name(name, i)
    ctx.client("iam").put_role_policy(
        RoleName=i["role"], PolicyName=pname, PolicyDocument=i["policy"]
    )
    return f"{i['role']}:{pname}", {"name": pname}


def instance_profile(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    iam = ctx.client("iam")
    pname = physical_name(name, i)
    arn = iam.create_instance_profile(InstanceProfileName=pname)["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName=pname, RoleName=i["role"])
    return pname, {"name": pname, "arn": arn}


def cluster(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    cname = physical_name(name, i, 255)
    c = ctx.client("ecs").create_cluster(clusterName=cname, settings=i.get("settings", []))
    arn = c["cluster"]["clusterArn"]
    return arn, {"name": cname, "arn": arn}


def account_setting(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """moto lacks PutAccountSettingDefault: validate that call, apply the per-principal one."""
    ecs = ctx.client("ecs")
    params = {"name": i["name"], "value": i["value"]}
    model = ecs.meta.service_model.operation_model("PutAccountSettingDefault")
    validate_parameters(params, model.input_shape)
    ecs.put_account_setting(**params)
    return i["name"], {}


def launch_template(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    md = i["metadataOptions"]
    data = {
        "ImageId": i["imageId"],
        "InstanceType": i["instanceType"],
        "IamInstanceProfile": {"Arn": i["iamInstanceProfile"]["arn"]},
        "SecurityGroupIds": i["vpcSecurityGroupIds"],
        "UserData": i["userData"],
        "MetadataOptions": {
            "HttpEndpoint": md["httpEndpoint"],
            "HttpTokens": md["httpTokens"],
            "HttpPutResponseHopLimit": int(md["httpPutResponseHopLimit"]),
        },
        "BlockDeviceMappings": [
            {
                "DeviceName": b["deviceName"],
                "Ebs": {
                    "VolumeSize": int(b["ebs"]["volumeSize"]),
                    "VolumeType": b["ebs"]["volumeType"],
                    "Encrypted": b["ebs"]["encrypted"] == "true",
                    "DeleteOnTermination": b["ebs"]["deleteOnTermination"] == "true",
                },
            }
            for b in i.get("blockDeviceMappings", [])
        ],
    }
    lt = ctx.client("ec2").create_launch_template(
        LaunchTemplateName=physical_name(name, i, 125), LaunchTemplateData=data
    )["LaunchTemplate"]
    return lt["LaunchTemplateId"], {"latestVersion": lt["LatestVersionNumber"]}


def auto_scaling_group(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    asg = ctx.client("autoscaling")
    gname = physical_name(name, i, 255)
    asg.create_auto_scaling_group(
        AutoScalingGroupName=gname,
        MinSize=int(i["minSize"]),
        MaxSize=int(i["maxSize"]),
        VPCZoneIdentifier=",".join(i["vpcZoneIdentifiers"]),
        LaunchTemplate={
            "LaunchTemplateId": i["launchTemplate"]["id"],
            "Version": i["launchTemplate"]["version"],
        },
        NewInstancesProtectedFromScaleIn=bool(i.get("protectFromScaleIn")),
        HealthCheckType=i.get("healthCheckType", "EC2"),
        Tags=[
            {"Key": t["key"], "Value": t["value"], "PropagateAtLaunch": t["propagateAtLaunch"]}
            for t in i.get("tags", [])
        ],
    )
    found = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[gname])["AutoScalingGroups"]
    return gname, {"name": gname, "arn": found[0]["AutoScalingGroupARN"]}


def capacity_provider(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    p = i["autoScalingGroupProvider"]
    ms = p["managedScaling"]
    cname = physical_name(name, i, 255)
    cp = ctx.client("ecs").create_capacity_provider(
        name=cname,
        autoScalingGroupProvider={
            "autoScalingGroupArn": p["autoScalingGroupArn"],
            "managedScaling": {
                "status": ms["status"],
                "targetCapacity": int(ms["targetCapacity"]),
                "minimumScalingStepSize": int(ms["minimumScalingStepSize"]),
                "maximumScalingStepSize": int(ms["maximumScalingStepSize"]),
            },
            "managedTerminationProtection": p["managedTerminationProtection"],
        },
    )["capacityProvider"]
    return cp["capacityProviderArn"], {"name": cname, "arn": cp["capacityProviderArn"]}


def cluster_capacity_providers(
    ctx: Ctx, name: str, i: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    ctx.client("ecs").put_cluster_capacity_providers(
        cluster=i["clusterName"],
        capacityProviders=i["capacityProviders"],
        defaultCapacityProviderStrategy=[
            {
                "capacityProvider": s["capacityProvider"],
                "weight": int(s["weight"]),
                "base": int(s["base"]),
            }
            for s in i["defaultCapacityProviderStrategies"]
        ],
    )
    return i["clusterName"], {}


def repository(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rname = physical_name(name, i, 255)
    repo = ctx.client("ecr").create_repository(
        repositoryName=rname,
        imageTagMutability=i["imageTagMutability"],
        imageScanningConfiguration={
            "scanOnPush": bool(i["imageScanningConfiguration"]["scanOnPush"])
        },
        encryptionConfiguration={
            "encryptionType": i["encryptionConfigurations"][0]["encryptionType"]
        },
    )["repository"]
    return rname, {
        "name": rname,
        "arn": repo["repositoryArn"],
        "registryId": repo["registryId"],
        "repositoryUrl": repo["repositoryUri"],
    }


def lifecycle_policy(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ctx.client("ecr").put_lifecycle_policy(
        repositoryName=i["repository"], lifecyclePolicyText=i["policy"]
    )
    return i["repository"], {}


def docker_image(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The build itself cannot run here; push a manifest under the tag so ECR holds an image."""
    repo_url, tag = str(i["imageName"]).rsplit(":", 1)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "digest": "sha256:" + hashlib.sha256(tag.encode()).hexdigest(),
                "size": 1024,
            },
            "layers": [],
        }
    )
    pushed = ctx.client("ecr").put_image(
        repositoryName=repo_url.split("/", 1)[1], imageManifest=manifest, imageTag=tag
    )["image"]
    digest = pushed["imageId"]["imageDigest"]
    return f"{repo_url}@{digest}", {"repoDigest": f"{repo_url}@{digest}"}


def log_group(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    logs = ctx.client("logs")
    gname = physical_name(name, i, 512)
    logs.create_log_group(logGroupName=gname)
    if i.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=gname, retentionInDays=int(i["retentionInDays"]))
    return gname, {
        "name": gname,
        "arn": f"arn:aws:logs:{ctx.region}:123456789012:log-group:{gname}",
    }


def _efs_volume(v: dict[str, Any]) -> dict[str, Any]:
    e = v["efsVolumeConfiguration"]
    return {
        "name": v["name"],
        "efsVolumeConfiguration": {
            "fileSystemId": e["fileSystemId"],
            "transitEncryption": e["transitEncryption"],
            "authorizationConfig": e["authorizationConfig"],
        },
    }


def task_definition(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    td = ctx.client("ecs").register_task_definition(
        **drop_none(
            {
                "family": i["family"],
                "containerDefinitions": json.loads(i["containerDefinitions"]),
                "networkMode": i["networkMode"],
                "requiresCompatibilities": i["requiresCompatibilities"],
                "cpu": i["cpu"],
                "memory": i["memory"],
                "executionRoleArn": i.get("executionRoleArn"),
                "taskRoleArn": i.get("taskRoleArn"),
                "volumes": [_efs_volume(v) for v in i.get("volumes", [])] or None,
            }
        )
    )["taskDefinition"]
    arn = td["taskDefinitionArn"]
    return arn, {"arn": arn, "revision": td["revision"]}


def ecs_service(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    net = i["networkConfiguration"]
    breaker = i["deploymentCircuitBreaker"]
    registry = i.get("serviceRegistries")
    sname = physical_name(name, i, 255)
    svc = ctx.client("ecs").create_service(
        **drop_none(
            {
                "cluster": i["cluster"],
                "serviceName": sname,
                "taskDefinition": i["taskDefinition"],
                "desiredCount": int(i["desiredCount"]),
                "capacityProviderStrategy": [
                    {"capacityProvider": s["capacityProvider"], "weight": int(s["weight"])}
                    for s in i["capacityProviderStrategies"]
                ],
                "networkConfiguration": {
                    "awsvpcConfiguration": {
                        "subnets": net["subnets"],
                        "securityGroups": net["securityGroups"],
                        "assignPublicIp": "ENABLED" if net.get("assignPublicIp") else "DISABLED",
                    }
                },
                "deploymentConfiguration": {
                    "deploymentCircuitBreaker": {
                        "enable": bool(breaker["enable"]),
                        "rollback": bool(breaker["rollback"]),
                    },
                    "minimumHealthyPercent": int(i["deploymentMinimumHealthyPercent"]),
                    "maximumPercent": int(i["deploymentMaximumPercent"]),
                },
                "serviceRegistries": [
                    drop_none(
                        {
                            "registryArn": registry["registryArn"],
                            "containerName": registry.get("containerName"),
                            "containerPort": int(registry["containerPort"])
                            if "containerPort" in registry
                            else None,
                        }
                    )
                ]
                if registry
                else None,
                "propagateTags": i.get("propagateTags"),
                "enableECSManagedTags": i.get("enableEcsManagedTags"),
            }
        )
    )["service"]
    return svc["serviceArn"], {"name": sname, "arn": svc["serviceArn"]}


# What names one scalable dimension: its target and its policies both carry it.
_SCALABLE = ("serviceNamespace", "resourceId", "scalableDimension")


def scaling_target(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ctx.client("application-autoscaling").register_scalable_target(
        **same_named(i, *_SCALABLE),
        MinCapacity=int(i["minCapacity"]),
        MaxCapacity=int(i["maxCapacity"]),
    )
    return i["resourceId"], {}


def scaling_policy(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    t = i["targetTrackingScalingPolicyConfiguration"]
    pname = physical_name(name, i, 255)
    resp = ctx.client("application-autoscaling").put_scaling_policy(
        PolicyName=pname,
        **same_named(i, *_SCALABLE, "policyType"),
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": float(t["targetValue"]),
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": t["predefinedMetricSpecification"]["predefinedMetricType"]
            },
            "ScaleInCooldown": int(t["scaleInCooldown"]),
            "ScaleOutCooldown": int(t["scaleOutCooldown"]),
        },
    )
    return pname, {"name": pname, "arn": resp["PolicyARN"]}


HANDLERS = {
    "aws:iam/role:Role": role,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": role_policy_attachment,
    "aws:iam/rolePolicy:RolePolicy": role_policy,
    "aws:iam/instanceProfile:InstanceProfile": instance_profile,
    "aws:ecs/cluster:Cluster": cluster,
    "aws:ecs/accountSettingDefault:AccountSettingDefault": account_setting,
    "aws:ec2/launchTemplate:LaunchTemplate": launch_template,
    "aws:autoscaling/group:Group": auto_scaling_group,
    "aws:ecs/capacityProvider:CapacityProvider": capacity_provider,
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": cluster_capacity_providers,
    "aws:ecr/repository:Repository": repository,
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": lifecycle_policy,
    "docker:index/image:Image": docker_image,
    "aws:cloudwatch/logGroup:LogGroup": log_group,
    "aws:ecs/taskDefinition:TaskDefinition": task_definition,
    "aws:ecs/service:Service": ecs_service,
    "aws:appautoscaling/target:Target": scaling_target,
    "aws:appautoscaling/policy:Policy": scaling_policy,
}


def get_parameter(ctx: Ctx, args: dict[str, Any]) -> dict[str, Any]:
    p = ctx.client("ssm").get_parameter(Name=args["name"])["Parameter"]
    return {"name": p["Name"], "type": p["Type"], "value": p["Value"], "arn": p.get("ARN", "")}


def authorization_token(ctx: Ctx, args: dict[str, Any]) -> dict[str, Any]:
    data = ctx.client("ecr").get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
    return {
        "authorizationToken": data["authorizationToken"],
        "proxyEndpoint": data["proxyEndpoint"],
        "userName": user,
        "password": password,
    }


def get_image(ctx: Ctx, args: dict[str, Any]) -> dict[str, Any]:
    found = ctx.client("ecr").describe_images(
        repositoryName=args["repositoryName"], imageIds=[{"imageTag": args["imageTag"]}]
    )["imageDetails"][0]
    return {"imageDigest": found["imageDigest"], "imageTags": found.get("imageTags", [])}


INVOKES = {
    "aws:ssm/getParameter:getParameter": get_parameter,
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": authorization_token,
    "aws:ecr/getImage:getImage": get_image,
}
