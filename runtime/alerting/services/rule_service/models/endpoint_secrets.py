"""The answer to an endpoint's secret rotation."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from alerting.web.models import ResponseModel


class SecretRotated(ResponseModel):
    endpoint_id: UUID
    signing_secret: str = Field(
        description="the new Standard Webhooks secret (whsec_ + base64 of 32 random bytes),"
        " shown this once; requests are signed with it from now on"
    )
    previous_secret_expires_at: datetime | None = Field(
        description="until when requests also carry a signature made with the secret this"
        " one replaced (ALERTING_WEBHOOK_SECRET_GRACE_S after the rotation); null when"
        " there was none to keep"
    )
