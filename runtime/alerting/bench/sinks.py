"""The local sinks (`alerting sinks`) as the bench's outside world, and reading them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from alerting.bench.processes import Processes
from alerting.dev import infra


@dataclass(frozen=True)
class Sinks:
    url: str
    smtp_port: int

    def hook(self, name: str) -> str:
        return f"{self.url}/hooks/{name}"

    def env(self) -> dict[str, str]:
        return {"ALERTING_SMTP_HOST": "127.0.0.1", "ALERTING_SMTP_PORT": str(self.smtp_port)}

    async def received(self, name: str) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(timeout=120) as http:
            response = await http.get(f"{self.url}/received", params={"name": name})
            response.raise_for_status()
            items: list[dict[str, Any]] = response.json()["items"]
            return items

    async def arrived(self, http: httpx.AsyncClient, hook: str | None) -> int:
        """Webhooks received at ``hook`` (emails when None) since the last clear."""
        response = await http.get(f"{self.url}/counts")
        response.raise_for_status()
        counts = response.json()
        found: int = counts["emails"] if hook is None else counts["hooks"].get(hook, 0)
        return found

    async def clear(self) -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            (await http.delete(f"{self.url}/received")).raise_for_status()


async def start(procs: Processes, env: dict[str, str]) -> Sinks:
    http_port, smtp_port = infra.free_port(), infra.free_port()
    args = ["--http-port", str(http_port), "--smtp-port", str(smtp_port)]
    url = await procs.start("sinks", env, args, port=http_port)
    return Sinks(url, smtp_port)
