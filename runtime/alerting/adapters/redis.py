"""Redis client and key naming; every key goes through ``Keys`` so a prefix isolates
environments (and test sessions) sharing one server."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from alerting.config import Settings


@dataclass(frozen=True)
class Keys:
    prefix: str = ""

    @property
    def snapshot(self) -> str:
        return f"{self.prefix}rules:snapshot"

    @property
    def version(self) -> str:
        return f"{self.prefix}rules:version"

    @property
    def decisions(self) -> str:
        """Bumped by writers that decided "no change", so stale concurrent writers lose."""
        return f"{self.prefix}rules:decisions"

    @property
    def version_channel(self) -> str:
        return f"{self.prefix}rules:version:changed"

    @property
    def evaluators(self) -> str:
        """Hash: evaluator instance id -> the snapshot it holds (``domain.liveness``)."""
        return f"{self.prefix}evaluators"

    @property
    def applied(self) -> str:
        """Hash: rule or silence id -> the snapshot version first carrying its state."""
        return f"{self.prefix}rules:applied"

    @property
    def rebuilt(self) -> str:
        """The last full comparison with Postgres: its read time and snapshot version."""
        return f"{self.prefix}rules:rebuilt"


def create_client(settings: Settings) -> aioredis.Redis:
    client: aioredis.Redis = aioredis.Redis.from_url(
        settings.redis_url, socket_connect_timeout=5, health_check_interval=30
    )
    return client


def keys(settings: Settings) -> Keys:
    return Keys(settings.redis_key_prefix)
