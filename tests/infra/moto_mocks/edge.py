"""Cloud Map and the API Gateway HTTP API (VPC link, integrations, routes, stage) in moto."""

from __future__ import annotations

from typing import Any

from tests.infra.moto_mocks.common import Ctx, physical_name, same_named


def namespace(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    sd = ctx.client("servicediscovery")
    op = sd.create_private_dns_namespace(
        Name=i["name"], Vpc=i["vpc"], Description=i.get("description", "")
    )["OperationId"]
    nid = sd.get_operation(OperationId=op)["Operation"]["Targets"]["NAMESPACE"]
    ns = sd.get_namespace(Id=nid)["Namespace"]
    zone = ns["Properties"]["DnsProperties"].get("HostedZoneId", "")
    return nid, {"arn": ns["Arn"], "hostedZone": zone}


def discovery_service(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    dns = i["dnsConfig"]
    svc = ctx.client("servicediscovery").create_service(
        Name=i["name"],
        NamespaceId=dns["namespaceId"],
        DnsConfig={
            "RoutingPolicy": dns["routingPolicy"],
            "DnsRecords": [{"Type": r["type"], "TTL": int(r["ttl"])} for r in dns["dnsRecords"]],
        },
        HealthCheckCustomConfig={},
    )["Service"]
    return svc["Id"], {"arn": svc["Arn"]}


def vpc_link(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    link = ctx.client("apigatewayv2").create_vpc_link(
        Name=physical_name(name, i, 128),
        SubnetIds=i["subnetIds"],
        SecurityGroupIds=i["securityGroupIds"],
    )
    return link["VpcLinkId"], {"arn": link.get("VpcLinkArn", "")}


def api(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    a = ctx.client("apigatewayv2").create_api(
        Name=physical_name(name, i, 128),
        ProtocolType=i["protocolType"],
        Description=i.get("description", ""),
    )
    return a["ApiId"], {"apiEndpoint": a["ApiEndpoint"]}


def integration(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    resp = ctx.client("apigatewayv2").create_integration(
        **same_named(
            i,
            "apiId",
            "integrationType",
            "integrationMethod",
            "integrationUri",
            "connectionType",
            "connectionId",
            "payloadFormatVersion",
        ),
        TimeoutInMillis=int(i["timeoutMilliseconds"]),
    )
    return resp["IntegrationId"], {}


def route(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    resp = ctx.client("apigatewayv2").create_route(
        ApiId=i["apiId"], RouteKey=i["routeKey"], Target=i["target"]
    )
    return resp["RouteId"], {}


def stage(ctx: Ctx, name: str, i: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    route_settings = i["defaultRouteSettings"]
    logs = i["accessLogSettings"]
    ctx.client("apigatewayv2").create_stage(
        ApiId=i["apiId"],
        StageName=i["name"],
        AutoDeploy=bool(i["autoDeploy"]),
        DefaultRouteSettings={
            "ThrottlingRateLimit": float(route_settings["throttlingRateLimit"]),
            "ThrottlingBurstLimit": int(route_settings["throttlingBurstLimit"]),
        },
        AccessLogSettings={"DestinationArn": logs["destinationArn"], "Format": logs["format"]},
    )
    return f"{i['apiId']}/{i['name']}", {}


HANDLERS = {
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": namespace,
    "aws:servicediscovery/service:Service": discovery_service,
    "aws:apigatewayv2/vpcLink:VpcLink": vpc_link,
    "aws:apigatewayv2/api:Api": api,
    "aws:apigatewayv2/integration:Integration": integration,
    "aws:apigatewayv2/route:Route": route,
    "aws:apigatewayv2/stage:Stage": stage,
}
