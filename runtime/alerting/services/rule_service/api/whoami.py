"""Who the caller is: what the console shows after sign-in, and how it checks a token.

Any API token passes rule-service's authentication except an ingest key (403, as on every
route here), so a 200 tells the console the token is one it can work with and whether to
show the admin views or a single client's.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from alerting.services.rule_service.operation import Ctx, Operation
from alerting.web.models import ResponseModel


class Caller(ResponseModel):
    kind: Literal["admin", "client"]
    client_id: str | None = Field(description="the client a client key is confined to")
    key_prefix: str | None = Field(description="the API key's public prefix (None: admin)")


async def whoami(ctx: Ctx) -> Caller:
    p = ctx.principal
    kind: Literal["admin", "client"] = "admin" if p.kind == "admin" else "client"
    return Caller(kind=kind, client_id=p.owner, key_prefix=p.prefix)


OPERATIONS = (
    Operation("GET", "/api/v1/whoami", whoami,
              "Who the token belongs to: the admin, or a client key and its client",
              "meta", response=Caller),
)  # fmt: skip
