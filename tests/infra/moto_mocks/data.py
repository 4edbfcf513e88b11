"""RDS, ElastiCache, Secrets Manager and EFS in moto."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from tests.infra.moto_mocks.common import Ctx, drop_none, physical_name, same_named


def _lower_id(name: str, inputs: dict[str, Any], max_len: int) -> str:
    return physical_name(name, inputs, max_len).lower()


def _subnet_group(
    create: Callable[..., Any], prefix: str, name: str, i: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """RDS and ElastiCache subnet groups: one API, each service's prefix on its names."""
    gname = _lower_id(name, i, 255)
    create(
        **{
            f"{prefix}SubnetGroupName": gname,
            f"{prefix}SubnetGroupDescription": i.get("description", "Managed by Pulumi"),
            "SubnetIds": i["subnetIds"],
        }
    )
    return gname, {"name": gname}


def db_subnet_group(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return _subnet_group(ctx.client("rds").create_db_subnet_group, "DB", name, i)


def db_parameter_group(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rds = ctx.client("rds")
    gname = _lower_id(name, i, 255)
    rds.create_db_parameter_group(
        DBParameterGroupName=gname,
        DBParameterGroupFamily=i["family"],
        Description=i.get("description", "Managed by Pulumi"),
    )
    rds.modify_db_parameter_group(
        DBParameterGroupName=gname,
        Parameters=[
            {
                "ParameterName": p["name"],
                "ParameterValue": p["value"],
                "ApplyMethod": "pending-reboot",
            }
            for p in i.get("parameters", [])
        ],
    )
    return gname, {"name": gname}


def db_instance(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ident = _lower_id(name, {"name": i.get("identifier")}, 63)
    db = ctx.client("rds").create_db_instance(
        **drop_none(
            {
                "DBInstanceIdentifier": ident,
                "Engine": i["engine"],
                "EngineVersion": i["engineVersion"],
                "DBInstanceClass": i["instanceClass"],
                "AllocatedStorage": int(i["allocatedStorage"]),
                "MaxAllocatedStorage": int(i["maxAllocatedStorage"]),
                "StorageType": i["storageType"],
                "StorageEncrypted": i["storageEncrypted"],
                "DBName": i["dbName"],
                "MasterUsername": i["username"],
                "ManageMasterUserPassword": i.get("manageMasterUserPassword"),
                "MasterUserPassword": i.get("password"),
                "DBSubnetGroupName": i["dbSubnetGroupName"],
                "DBParameterGroupName": i["parameterGroupName"],
                "VpcSecurityGroupIds": i["vpcSecurityGroupIds"],
                "PubliclyAccessible": i["publiclyAccessible"],
                "MultiAZ": i["multiAz"],
                "BackupRetentionPeriod": int(i["backupRetentionPeriod"]),
                "CopyTagsToSnapshot": i["copyTagsToSnapshot"],
                "DeletionProtection": i["deletionProtection"],
                "AutoMinorVersionUpgrade": i["autoMinorVersionUpgrade"],
            }
        )
    )["DBInstance"]
    secret = db.get("MasterUserSecret") or {}
    return ident, {
        "identifier": ident,
        "arn": db["DBInstanceArn"],
        "address": db["Endpoint"]["Address"],
        "port": db["Endpoint"]["Port"],
        "endpoint": f"{db['Endpoint']['Address']}:{db['Endpoint']['Port']}",
        "masterUserSecrets": [
            {"secretArn": secret["SecretArn"], "secretStatus": secret.get("SecretStatus", "")}
        ]
        if secret
        else [],
    }


def cache_subnet_group(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return _subnet_group(ctx.client("elasticache").create_cache_subnet_group, "Cache", name, i)


def replication_group(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    gid = _lower_id(name, {"name": i.get("replicationGroupId")}, 40)
    rg = ctx.client("elasticache").create_replication_group(
        ReplicationGroupId=gid,
        ReplicationGroupDescription=i["description"],
        CacheNodeType=i["nodeType"],
        NumCacheClusters=int(i["numCacheClusters"]),
        MultiAZEnabled=i["multiAzEnabled"],
        Port=int(i["port"]),
        CacheSubnetGroupName=i["subnetGroupName"],
        **same_named(
            i,
            "engine",
            "engineVersion",
            "automaticFailoverEnabled",
            "securityGroupIds",
            "atRestEncryptionEnabled",
            "transitEncryptionEnabled",
            "authToken",
        ),
        SnapshotRetentionLimit=int(i["snapshotRetentionLimit"]),
    )["ReplicationGroup"]
    address = rg["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    return gid, {"arn": rg["ARN"], "primaryEndpointAddress": address}


def secret(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    sname = i.get("name") or f"{i['namePrefix']}{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    s = ctx.client("secretsmanager").create_secret(Name=sname, Description=i.get("description", ""))
    return s["ARN"], {"arn": s["ARN"], "name": sname}


def secret_version(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    v = ctx.client("secretsmanager").put_secret_value(
        SecretId=i["secretId"], SecretString=i["secretString"]
    )
    return f"{i['secretId']}|{v['VersionId']}", {"versionId": v["VersionId"]}


def file_system(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    fs = ctx.client("efs").create_file_system(
        CreationToken=name,
        Encrypted=bool(i["encrypted"]),
        PerformanceMode=i["performanceMode"],
        ThroughputMode=i["throughputMode"],
        Tags=[{"Key": k, "Value": v} for k, v in (i.get("tags") or {}).items()],
    )
    return fs["FileSystemId"], {"arn": fs["FileSystemArn"]}


def mount_target(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    mt = ctx.client("efs").create_mount_target(
        FileSystemId=i["fileSystemId"], SubnetId=i["subnetId"], SecurityGroups=i["securityGroups"]
    )
    return mt["MountTargetId"], {}


def access_point(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    user, root = i["posixUser"], i["rootDirectory"]
    info = root["creationInfo"]
    ap = ctx.client("efs").create_access_point(
        ClientToken=name,
        FileSystemId=i["fileSystemId"],
        PosixUser={"Uid": int(user["uid"]), "Gid": int(user["gid"])},
        RootDirectory={
            "Path": root["path"],
            "CreationInfo": {
                "OwnerUid": int(info["ownerUid"]),
                "OwnerGid": int(info["ownerGid"]),
                "Permissions": info["permissions"],
            },
        },
    )
    return ap["AccessPointId"], {"arn": ap["AccessPointArn"]}


HANDLERS = {
    "aws:rds/subnetGroup:SubnetGroup": db_subnet_group,
    "aws:rds/parameterGroup:ParameterGroup": db_parameter_group,
    "aws:rds/instance:Instance": db_instance,
    "aws:elasticache/subnetGroup:SubnetGroup": cache_subnet_group,
    "aws:elasticache/replicationGroup:ReplicationGroup": replication_group,
    "aws:secretsmanager/secret:Secret": secret,
    "aws:secretsmanager/secretVersion:SecretVersion": secret_version,
    "aws:efs/fileSystem:FileSystem": file_system,
    "aws:efs/mountTarget:MountTarget": mount_target,
    "aws:efs/accessPoint:AccessPoint": access_point,
}
