"""The channels by endpoint type name: the one list the API's type enum, its value
validation, the OpenAPI document and the sender's dispatch all read.

Built-in channels are discovered, not listed: every module of ``alerting.channels.builtin``
defines ``CHANNEL`` and is registered when this module is imported. A list would be one
more place to edit per channel, which is what this registry exists to remove; discovery
costs one directory scan at import, and a module without ``CHANNEL`` fails the import
loudly instead of being skipped. Tests (and, later, plugins) ``register`` more at run
time and ``unregister`` them again.

Lookups are plain dict reads: the sender resolves a channel per delivery.
"""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
from typing import Any

from alerting.channels import builtin
from alerting.channels.base import TYPE_NAME, Channel
from alerting.domain.delivery_rate import Rate

_channels: dict[str, Channel[Any]] = {}


class UnknownChannel(LookupError):
    """No channel of that type name is registered."""


def register(channel: Channel[Any]) -> None:
    """Add ``channel``; its name must fit the schema's type format and be new."""
    if not isinstance(channel, Channel):
        raise TypeError(f"{channel!r} does not implement the Channel protocol")
    if not TYPE_NAME.fullmatch(channel.name):
        raise ValueError(f"channel name {channel.name!r} does not match {TYPE_NAME.pattern}")
    if channel.name in _channels:
        raise ValueError(f"a channel named {channel.name!r} is already registered")
    _channels[channel.name] = channel


def unregister(name: str) -> None:
    _channels.pop(name, None)


def find(name: str) -> Channel[Any] | None:
    return _channels.get(name)


def get(name: str) -> Channel[Any]:
    channel = _channels.get(name)
    if channel is None:
        raise UnknownChannel(name)
    return channel


def names() -> tuple[str, ...]:
    """The registered type names, sorted (the order the API's enum lists them in)."""
    return tuple(sorted(_channels))


def identity(name: str, value: str, secret: str | None = None) -> str:
    """``domain.delivery.Identity`` over every channel. A type no channel claims (a
    channel removed while its endpoints remain) compares as is; the sender then records
    those deliveries as failed.

    The endpoint's ``secret`` is part of the identity when it is a credential that
    selects the destination (PagerDuty: one URL, a service per routing key); as a
    digest, so the key the sender groups by never holds the secret itself. A generated
    signing secret is not: webhook endpoints with one URL still get one message."""
    channel = _channels.get(name)
    if channel is None:
        return value
    found = channel.identity(value)
    credential = channel.credential
    if secret is not None and credential is not None and credential.selects_destination:
        # A line feed cannot be in a stored value (the API refuses controls).
        found += "\n" + hashlib.sha256(secret.encode()).hexdigest()
    return found


def default_rate(name: str) -> Rate | None:
    """The channel's own delivery rate; None (the sender's setting) for a type no
    channel claims as for a channel that states none."""
    channel = _channels.get(name)
    return None if channel is None else channel.default_rate


def _register_builtin() -> None:
    for info in sorted(pkgutil.iter_modules(builtin.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{builtin.__name__}.{info.name}")
        try:
            channel = module.CHANNEL
        except AttributeError:
            raise ImportError(f"{module.__name__} defines no CHANNEL") from None
        register(channel)


_register_builtin()
