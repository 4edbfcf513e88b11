"""Shared state and helpers for the moto translations."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import boto3


@dataclass
class Ctx:
    region: str
    session: boto3.Session
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = self.session.client(service, region_name=self.region)
        return self.clients[service]


def physical_name(name: str, inputs: dict[str, Any], max_len: int = 63) -> str:
    """The provider's auto-naming: the explicit name, else logical name + random suffix."""
    explicit = inputs.get("name")
    if explicit:
        return str(explicit)
    suffix = hashlib.sha256(name.encode()).hexdigest()[:7]
    return f"{name[: max_len - 8]}-{suffix}"


def tags(inputs: dict[str, Any], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in (inputs.get("tags") or {}).items()]


def same_named(inputs: dict[str, Any], *keys: str) -> dict[str, Any]:
    """Inputs boto3 takes unchanged under the same name, capitalised (apiId -> ApiId): the
    handlers spell out only the parameters a translation actually changes."""
    return {key[0].upper() + key[1:]: inputs[key] for key in keys}


def drop_none(d: dict[str, Any]) -> dict[str, Any]:
    """boto3 refuses None for optional parameters; the provider simply omits them."""
    return {k: v for k, v in d.items() if v is not None}


# How a secret value reaches the mocks: wrapped in a dict carrying Pulumi's secret sig.
SECRET_SIG = "4dabf18193072939515e22adb298388d"


def unwrap_secrets(value: Any) -> Any:
    """The plain values a provider would receive once the engine decrypted them."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            return unwrap_secrets(value["value"])
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value
