"""Pulumi mocks that create each resource in moto through boto3.

Every resource the stack declares becomes the boto3 call the AWS provider would make,
with its camelCase inputs translated to the API's parameters. botocore validates each
call against the real service model (names, types, enums, nesting), and moto checks
references (a subnet's VPC, a service's task definition). Afterwards the tests inspect
the "deployed" stack with plain boto3 calls, as an operator would.

A resource type without a translation fails loudly: silently skipping one would let a
gap in coverage look like a pass. Run inside `moto.mock_aws()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pulumi

from tests.infra.moto_mocks import compute, data, edge, monitoring, network
from tests.infra.moto_mocks.common import Ctx, unwrap_secrets

Handler = Callable[[Ctx, str, dict[str, Any]], tuple[str, dict[str, Any]]]
HANDLERS: dict[str, Handler] = {
    **network.HANDLERS,
    **compute.HANDLERS,
    **data.HANDLERS,
    **edge.HANDLERS,
    **monitoring.HANDLERS,
}
INVOKES = {**compute.INVOKES}


class MotoMocks(pulumi.runtime.Mocks):
    def __init__(self, region: str = "us-east-1") -> None:
        self.ctx = Ctx(region=region, session=boto3.Session(region_name=region))
        self.created: list[tuple[str, str, str]] = []  # (type, logical name, physical id)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        if args.custom is False or args.typ.startswith("alerting:components:"):
            return f"{args.name}-component", {}
        handler = HANDLERS.get(args.typ)
        if handler is None:
            raise NotImplementedError(f"no moto translation for {args.typ} ({args.name})")
        rid, outputs = handler(self.ctx, args.name, unwrap_secrets(dict(args.inputs)))
        self.created.append((args.typ, args.name, rid))
        return rid, {**args.inputs, **outputs}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
        handler = INVOKES.get(args.token)
        if handler is None:
            raise NotImplementedError(f"no moto translation for invoke {args.token}")
        return handler(self.ctx, dict(args.args)), []
