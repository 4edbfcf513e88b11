"""API keys: the token is returned once at creation; lists never show secrets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from alerting.domain.label_mapping import LABEL_NAME_PATTERN
from alerting.services.rule_service.models.common import (
    AlertSeverity,
    Description,
    MatchText,
    PageQuery,
)
from alerting.web.key_store import KeyScope
from alerting.web.models import RequestModel, ResponseModel, label


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _concrete(value: str) -> str:
    if value == "*":  # ingest refuses it as an alert's source: every alert would be a 422
        raise PydanticCustomError("invalid", "'*' is a rule wildcard, not a source")
    return value


LabelName = Annotated[str, StringConstraints(pattern=LABEL_NAME_PATTERN, max_length=128)]


def _normalised(value: str) -> str:
    """How ingest compares a severity label value: spaces trimmed, lower-cased."""
    return value.strip().lower()


# Severity label values a team uses (compared lower-cased), e.g. "P1"; stored normalised.
SeverityValue = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128),
    AfterValidator(label),
    AfterValidator(_normalised),
]
SeverityName = Annotated[AlertSeverity, BeforeValidator(_upper)]
MAX_SOURCE_LABELS = 8
MAX_SEVERITY_VALUES = 32


class LabelMapping(RequestModel):
    """How Prometheus/Alertmanager labels become an alert's fields for alerts posted with
    this ingest key (docs/integrations.md, "Sources"); an absent or null field keeps
    its default."""

    name_label: LabelName | None = Field(None, description="default: alertname")
    severity_label: LabelName | None = Field(None, description="default: severity")
    source_labels: list[LabelName] | None = Field(
        None,
        min_length=1,
        max_length=MAX_SOURCE_LABELS,
        description="the first one present is the source; default: [service, job]",
    )
    severity_values: dict[SeverityValue, SeverityName] | None = Field(
        None,
        max_length=MAX_SEVERITY_VALUES,
        description="label value (any case, spaces trimmed; stored lower-cased) -> severity,"
        " added to (and before) the defaults: critical, error, high, warning, info, none",
    )
    default_severity: SeverityName | None = Field(
        None, description="for a missing or unknown severity value; default: HIGH"
    )
    default_source: Annotated[MatchText, AfterValidator(_concrete)] | None = Field(
        None,
        description="when no source label is present; default: prometheus (/api/v2/alerts)"
        " or alertmanager (the webhook)",
    )

    @field_validator("severity_values", mode="before")
    @classmethod
    def _distinct_severity_values(cls, values: Any) -> Any:
        """ "P1" and " p1" are one value to ingest: a mapping naming both (perhaps with
        two severities) is a 422, not a silent last-one-wins."""
        if not isinstance(values, dict):
            return values
        seen: dict[str, str] = {}
        for key in values:
            if not isinstance(key, str):
                continue
            same = seen.setdefault(_normalised(key), key)
            if same != key:
                raise PydanticCustomError(
                    "invalid",
                    "{a} and {b} are the same value (compared with spaces trimmed, in any case)",
                    {"a": repr(same), "b": repr(key)},
                )
        return values

    def stored(self) -> dict[str, Any] | None:
        """What ``api_keys.label_mapping`` holds: the given fields only (defaults may
        change; a key follows them for what it does not override), None when empty."""
        given = self.model_dump(exclude_none=True)
        return given or None


class ClientKeyCreate(RequestModel):
    description: Description = ""


class IngestKeyCreate(RequestModel):
    scope: Literal["ingest"]
    description: Description = ""
    label_mapping: LabelMapping | None = None


class ApiKeyUpdate(RequestModel):
    label_mapping: LabelMapping | None = Field(
        description="the ingest key's new mapping (replaces the old one); null: the defaults"
    )


class ApiKey(ResponseModel):
    key_id: UUID
    prefix: str
    scope: KeyScope
    client_id: str | None
    description: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    label_mapping: LabelMapping | None = Field(
        None, description="an ingest key's label mapping; null: the defaults"
    )


class ApiKeyCreated(ApiKey):
    token: str = Field(description="the bearer token, shown this once; only its hash is kept")


class ApiKeyPage(ResponseModel):
    items: list[ApiKey]
    next_cursor: str | None


class ApiKeyQuery(PageQuery):
    scope: KeyScope | None = None
