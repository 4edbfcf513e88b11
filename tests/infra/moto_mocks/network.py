"""VPC, subnets, gateways, routes and security groups in moto."""

from __future__ import annotations

from typing import Any

from tests.infra.moto_mocks.common import Ctx, drop_none, physical_name


def _name_tag(ctx: Ctx, rid: str, inputs: dict[str, Any]) -> None:
    if inputs.get("tags"):
        ctx.client("ec2").create_tags(
            Resources=[rid], Tags=[{"Key": k, "Value": v} for k, v in inputs["tags"].items()]
        )


def vpc(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ec2 = ctx.client("ec2")
    vid = ec2.create_vpc(CidrBlock=i["cidrBlock"])["Vpc"]["VpcId"]
    for attr in ("enableDnsHostnames", "enableDnsSupport"):
        if i.get(attr):
            ec2.modify_vpc_attribute(VpcId=vid, **{attr[0].upper() + attr[1:]: {"Value": True}})
    _name_tag(ctx, vid, i)
    return vid, {"arn": f"arn:aws:ec2:{ctx.region}:123456789012:vpc/{vid}"}


def internet_gateway(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ec2 = ctx.client("ec2")
    gid = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gid, VpcId=i["vpcId"])
    return gid, {}


def subnet(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ec2 = ctx.client("ec2")
    sid = ec2.create_subnet(
        VpcId=i["vpcId"], CidrBlock=i["cidrBlock"], AvailabilityZone=i["availabilityZone"]
    )["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(
        SubnetId=sid, MapPublicIpOnLaunch={"Value": bool(i.get("mapPublicIpOnLaunch"))}
    )
    _name_tag(ctx, sid, i)
    return sid, {}


def route_table(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rid = ctx.client("ec2").create_route_table(VpcId=i["vpcId"])["RouteTable"]["RouteTableId"]
    _name_tag(ctx, rid, i)
    return rid, {}


def route(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ctx.client("ec2").create_route(
        **drop_none(
            {
                "RouteTableId": i["routeTableId"],
                "DestinationCidrBlock": i["destinationCidrBlock"],
                "GatewayId": i.get("gatewayId"),
                "NatGatewayId": i.get("natGatewayId"),
            }
        )
    )
    return f"r-{i['routeTableId']}{i['destinationCidrBlock']}", {}


def association(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    resp = ctx.client("ec2").associate_route_table(
        SubnetId=i["subnetId"], RouteTableId=i["routeTableId"]
    )
    return resp["AssociationId"], {}


def eip(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    resp = ctx.client("ec2").allocate_address(Domain=i.get("domain", "vpc"))
    return resp["AllocationId"], {
        "allocationId": resp["AllocationId"],
        "publicIp": resp["PublicIp"],
    }


def nat_gateway(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    nat = ctx.client("ec2").create_nat_gateway(
        SubnetId=i["subnetId"], AllocationId=i["allocationId"]
    )["NatGateway"]
    return nat["NatGatewayId"], {}


def security_group(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ec2 = ctx.client("ec2")
    gid = ec2.create_security_group(
        GroupName=physical_name(name, i, 255),
        Description=i.get("description", "Managed by Pulumi"),
        VpcId=i["vpcId"],
    )["GroupId"]
    # Like the provider: a group declared without egress keeps none (AWS adds allow-all).
    ec2.revoke_security_group_egress(
        GroupId=gid, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    return gid, {"arn": f"arn:aws:ec2:{ctx.region}:123456789012:security-group/{gid}"}


def _permission(i: dict[str, Any]) -> dict[str, Any]:
    perm: dict[str, Any] = {"IpProtocol": i["ipProtocol"]}
    if i["ipProtocol"] != "-1":
        perm |= {"FromPort": int(i["fromPort"]), "ToPort": int(i["toPort"])}
    if i.get("cidrIpv4"):
        perm["IpRanges"] = [{"CidrIp": i["cidrIpv4"], "Description": i.get("description", "")}]
    if i.get("referencedSecurityGroupId"):
        perm["UserIdGroupPairs"] = [
            {"GroupId": i["referencedSecurityGroupId"], "Description": i.get("description", "")}
        ]
    return perm


def ingress(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    resp = ctx.client("ec2").authorize_security_group_ingress(
        GroupId=i["securityGroupId"], IpPermissions=[_permission(i)]
    )
    return resp["SecurityGroupRules"][0]["SecurityGroupRuleId"], {}


def egress(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    resp = ctx.client("ec2").authorize_security_group_egress(
        GroupId=i["securityGroupId"], IpPermissions=[_permission(i)]
    )
    return resp["SecurityGroupRules"][0]["SecurityGroupRuleId"], {}


HANDLERS = {
    "aws:ec2/vpc:Vpc": vpc,
    "aws:ec2/internetGateway:InternetGateway": internet_gateway,
    "aws:ec2/subnet:Subnet": subnet,
    "aws:ec2/routeTable:RouteTable": route_table,
    "aws:ec2/route:Route": route,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": association,
    "aws:ec2/eip:Eip": eip,
    "aws:ec2/natGateway:NatGateway": nat_gateway,
    "aws:ec2/securityGroup:SecurityGroup": security_group,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ingress,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": egress,
}
